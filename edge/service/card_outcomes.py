"""What a card terminal's answer means for the cashier, in one sentence on the lane.

Adapters translate their provider's codes into the small vocabulary below (`reason`), and
this table turns it into guidance. The reasons follow Adyen's published refusal reasons (the
`refusalReason` of a declined payment, e.g. "12: Not enough balance") and nexo's
`ErrorCondition`s, which other terminals' codes map onto just as well.
"""

from __future__ import annotations

DECLINE_GUIDANCE = {
    "insufficient_funds": "Card declined: not enough funds. Ask for another card or payment method",
    "blocked_card": "Card declined: the card is blocked. Ask for another card; do not retry this one",
    "expired_card": "Card declined: the card has expired. Ask for another card",
    "invalid_pin": "Card declined: wrong PIN. The customer may try once more",
    "pin_tries_exceeded": "Card declined: too many wrong PINs. Ask for another card or payment method",
    "pin_required": "The card asks for its PIN: start the card payment again and have the customer insert "
                    "the card and enter the PIN",
    "insert_card": "Contactless not accepted for this card: start the card payment again and ask the customer "
                   "to insert the card",
    "not_permitted": "Card declined: this card cannot be used for this purchase. Ask for another card",
    "fraud": "Card declined by the issuer's fraud check. Ask for another payment method; do not retry the card",
    "referral": "Card declined: the issuer asks for a call. Ask for another payment method",
    "issuer_unavailable": "The card issuer did not answer: try the card again, or take another payment method",
    "limit_exceeded": "Card declined: the card's spending limit is reached. Ask for another card",
    "invalid_card": "The terminal could not read a valid card: try again, or take another card",
    "cancelled_by_customer": "The customer cancelled on the terminal: nothing was charged. Ask how they want to pay",
    "cancelled": "Card payment cancelled: nothing was charged",
    "refused": "Card declined. Ask for another card or payment method",
}

FAILURE_GUIDANCE = {
    "terminal_busy": "The payment terminal is busy with another transaction: nothing was charged. Wait for it "
                     "to finish, then try the card again",
    "terminal_offline": "The payment terminal cannot be reached: nothing was charged. Check its power and "
                        "network cable, or take another payment method",
    "host_unreachable": "The terminal cannot reach the card network: nothing was charged. Take another payment "
                        "method, or try again in a minute",
    "terminal_refused": "The payment terminal refused the request: nothing was charged. Ask a technician to run "
                        "the terminal test",
}

# Adyen refusal reason codes (docs: "Refusal reasons") -> our reason.
ADYEN_REFUSAL_CODES = {
    "2": "refused", "3": "referral", "4": "issuer_unavailable", "5": "blocked_card", "6": "expired_card",
    "7": "not_permitted", "8": "invalid_card", "9": "issuer_unavailable", "10": "not_permitted",
    "12": "insufficient_funds", "14": "fraud", "15": "cancelled", "16": "cancelled_by_customer",
    "17": "invalid_pin", "18": "pin_tries_exceeded", "19": "invalid_pin", "20": "fraud", "22": "fraud",
    "23": "not_permitted", "25": "blocked_card", "26": "refused", "27": "refused", "28": "limit_exceeded",
    "29": "limit_exceeded", "31": "fraud", "33": "pin_required", "36": "pin_required", "37": "insert_card",
}
ADYEN_REFUSAL_TEXTS = {
    "not enough balance": "insufficient_funds", "blocked card": "blocked_card", "expired card": "expired_card",
    "invalid pin": "invalid_pin", "pin tries exceeded": "pin_tries_exceeded", "referral": "referral",
    "fraud": "fraud", "issuer unavailable": "issuer_unavailable", "transaction not permitted": "not_permitted",
    "restricted card": "blocked_card", "withdrawal amount exceeded": "limit_exceeded",
    "shopper cancelled": "cancelled_by_customer", "cancelled": "cancelled", "contactless fallback": "insert_card",
    "card requires online pin": "pin_required", "mobile pin required": "pin_required",
    "invalid card number": "invalid_card",
}

# nexo ErrorCondition -> our reason, for failures that are not an issuer's refusal.
NEXO_ERROR_CONDITIONS = {
    "Busy": "terminal_busy", "InProgress": "terminal_busy", "DeviceOut": "terminal_offline",
    "UnavailableDevice": "terminal_offline", "UnavailableService": "terminal_offline",
    "UnreachableHost": "host_unreachable", "Aborted": "cancelled", "Cancel": "cancelled_by_customer",
    "WrongPIN": "invalid_pin", "InvalidCard": "invalid_card", "PaymentRestriction": "not_permitted",
    "NotAllowed": "terminal_refused", "MessageFormat": "terminal_refused", "LoggedOut": "terminal_refused",
    "InsertedCard": "insert_card", "Refusal": "refused",
}


def adyen_reason(refusal_reason: str | None, error_condition: str | None) -> str:
    """Adyen's `refusalReason` ("<code>:<text>", or the text alone) or the ErrorCondition -> reason."""
    if refusal_reason:
        code, _, text = refusal_reason.partition(":")
        if code.strip().isdigit():
            found = ADYEN_REFUSAL_CODES.get(code.strip())
            if found:
                return found
        else:
            text = refusal_reason
        lowered = text.strip().lower()
        for phrase, reason in ADYEN_REFUSAL_TEXTS.items():
            if phrase in lowered:
                return reason
    return NEXO_ERROR_CONDITIONS.get(error_condition or "", "refused")


def card_guidance(status: str, *, reason: str | None = None, signature_required: bool = False,
                  fallback: bool = False) -> str | None:
    """Guidance more precise than the generic table in `edge.domain.tenders`, or None to use that."""
    if status in ("declined",) and reason:
        return DECLINE_GUIDANCE.get(reason) or FAILURE_GUIDANCE.get(reason)
    if status in ("not_found", "failed") and reason:
        return FAILURE_GUIDANCE.get(reason) or DECLINE_GUIDANCE.get(reason)
    if status == "approved" and signature_required:
        return "Card approved: the customer must sign the receipt. Compare the signature with the card, then hand " \
               "over the receipt"
    if status == "approved" and fallback:
        return "Card approved (chip could not be read, the card was swiped): hand over the receipt"
    return None
