"""HID keyboard-wedge scanner decoding (evdev key codes -> barcode text), and the reverse.

A scanner is a keyboard that types fast. The layout matters: a scanner set to German
QWERTZ sends KEY_Y for "z", so decoding it as US turns "Z12" into "Y12". Shift (either
side) and caps lock are tracked; Enter ends a scan; a gap longer than ``gap_ms`` between
keys means the partial input was a person on a keyboard or a truncated scan, so it is
dropped.
"""

from __future__ import annotations

from evdev import ecodes as e

EV_KEY, EV_SYN, SYN_REPORT = e.EV_KEY, e.EV_SYN, e.SYN_REPORT
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2

_LETTERS = {getattr(e, f"KEY_{c}"): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}

# code -> (plain, shifted[, altgr])
US: dict[int, tuple[str, ...]] = {
    **{code: (c, c.upper()) for code, c in _LETTERS.items()},
    e.KEY_1: ("1", "!"), e.KEY_2: ("2", "@"), e.KEY_3: ("3", "#"), e.KEY_4: ("4", "$"),
    e.KEY_5: ("5", "%"), e.KEY_6: ("6", "^"), e.KEY_7: ("7", "&"), e.KEY_8: ("8", "*"),
    e.KEY_9: ("9", "("), e.KEY_0: ("0", ")"), e.KEY_MINUS: ("-", "_"), e.KEY_EQUAL: ("=", "+"),
    e.KEY_LEFTBRACE: ("[", "{"), e.KEY_RIGHTBRACE: ("]", "}"), e.KEY_SEMICOLON: (";", ":"),
    e.KEY_APOSTROPHE: ("'", '"'), e.KEY_GRAVE: ("`", "~"), e.KEY_BACKSLASH: ("\\", "|"),
    e.KEY_COMMA: (",", "<"), e.KEY_DOT: (".", ">"), e.KEY_SLASH: ("/", "?"), e.KEY_SPACE: (" ", " "),
}

DE: dict[int, tuple[str, ...]] = {
    **US,
    e.KEY_Y: ("z", "Z"), e.KEY_Z: ("y", "Y"),
    e.KEY_Q: ("q", "Q", "@"), e.KEY_E: ("e", "E", "€"),
    e.KEY_1: ("1", "!"), e.KEY_2: ("2", '"'), e.KEY_3: ("3", "§"), e.KEY_4: ("4", "$"),
    e.KEY_5: ("5", "%"), e.KEY_6: ("6", "&"), e.KEY_7: ("7", "/", "{"), e.KEY_8: ("8", "(", "["),
    e.KEY_9: ("9", ")", "]"), e.KEY_0: ("0", "=", "}"), e.KEY_MINUS: ("ß", "?", "\\"),
    e.KEY_EQUAL: ("\u00b4", "`"), e.KEY_LEFTBRACE: ("ü", "Ü"), e.KEY_RIGHTBRACE: ("+", "*", "~"),
    e.KEY_SEMICOLON: ("ö", "Ö"), e.KEY_APOSTROPHE: ("ä", "Ä"), e.KEY_GRAVE: ("^", "°"),
    e.KEY_BACKSLASH: ("#", "'"), e.KEY_COMMA: (",", ";"), e.KEY_DOT: (".", ":"),
    e.KEY_SLASH: ("-", "_"), e.KEY_102ND: ("<", ">", "|"),
}

# The keypad types digits whatever the layout (scanners often use it for "ALT codes" mode).
_KEYPAD = {
    e.KEY_KP0: "0", e.KEY_KP1: "1", e.KEY_KP2: "2", e.KEY_KP3: "3", e.KEY_KP4: "4", e.KEY_KP5: "5",
    e.KEY_KP6: "6", e.KEY_KP7: "7", e.KEY_KP8: "8", e.KEY_KP9: "9", e.KEY_KPDOT: ".",
    e.KEY_KPMINUS: "-", e.KEY_KPPLUS: "+", e.KEY_KPASTERISK: "*", e.KEY_KPSLASH: "/",
}

LAYOUTS = {"us": US, "de": DE}
_SHIFTS = {e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT}
_TERMINATORS = {e.KEY_ENTER, e.KEY_KPENTER}


def layout(name: str) -> dict[int, tuple[str, ...]]:
    try:
        return LAYOUTS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown keyboard layout {name!r}; known: {', '.join(LAYOUTS)}") from None


class ScanDecoder:
    """Feed key events one by one; ``feed`` returns a barcode when Enter completes one."""

    def __init__(self, layout_name: str = "us", gap_ms: int = 100, tab_terminates: bool = False) -> None:
        self.keymap = layout(layout_name)
        self.gap_s = gap_ms / 1000
        self.terminators = _TERMINATORS | ({e.KEY_TAB} if tab_terminates else set())
        self._buffer: list[str] = []
        self._shift_down: set[int] = set()
        self._altgr = False
        self._caps = False
        self._last_key_at: float | None = None

    def feed(self, etype: int, code: int, value: int, timestamp: float) -> str | None:
        if etype != EV_KEY:
            return None
        if code in _SHIFTS:
            (self._shift_down.add if value else self._shift_down.discard)(code)
            return None
        if code == e.KEY_RIGHTALT:
            self._altgr = value != KEY_UP
            return None
        if value != KEY_DOWN:
            return None  # key up and autorepeat carry no new character
        if code == e.KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if self._last_key_at is not None and timestamp - self._last_key_at > self.gap_s:
            self._buffer.clear()
        self._last_key_at = timestamp
        if code in self.terminators:
            barcode, self._buffer = "".join(self._buffer), []
            return barcode or None
        char = self._char_for(code)
        if char is not None:
            self._buffer.append(char)
        return None

    def _char_for(self, code: int) -> str | None:
        if code in _KEYPAD:
            return _KEYPAD[code]
        levels = self.keymap.get(code)
        if levels is None:
            return None
        if self._altgr:
            return levels[2] if len(levels) > 2 else None
        shifted = bool(self._shift_down)
        plain = levels[0]
        if plain.isalpha() and plain.lower() != plain.upper():
            shifted ^= self._caps  # caps lock inverts shift for letters only
        return levels[1] if shifted else plain

    @property
    def pending(self) -> str:
        return "".join(self._buffer)


def keystrokes_for(text: str, layout_name: str = "us", enter: bool = True) -> list[tuple[int, int, int]]:
    """The (type, code, value) events a scanner in ``layout_name`` sends for ``text``."""
    reverse: dict[str, tuple[int, int]] = {}
    for code, levels in layout(layout_name).items():
        for level, char in enumerate(levels):
            reverse.setdefault(char, (code, level))
    events: list[tuple[int, int, int]] = []

    def tap(code: int, modifier: int | None = None) -> None:
        if modifier is not None:
            events.extend([(EV_KEY, modifier, KEY_DOWN), (EV_SYN, SYN_REPORT, 0)])
        events.extend([(EV_KEY, code, KEY_DOWN), (EV_SYN, SYN_REPORT, 0),
                       (EV_KEY, code, KEY_UP), (EV_SYN, SYN_REPORT, 0)])
        if modifier is not None:
            events.extend([(EV_KEY, modifier, KEY_UP), (EV_SYN, SYN_REPORT, 0)])

    for char in text:
        if char not in reverse:
            raise ValueError(f"{char!r} cannot be typed on the {layout_name} layout")
        code, level = reverse[char]
        tap(code, [None, e.KEY_LEFTSHIFT, e.KEY_RIGHTALT][level])
    if enter:
        tap(e.KEY_ENTER)
    return events
