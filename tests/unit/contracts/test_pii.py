"""The PII envelope both ends share: sealing, binding, blind indexes, normalisation."""

import pytest

from edge.contracts import pii


def test_profile_opens_only_with_its_key_and_its_customer():
    key = pii.new_key()
    profile = pii.CustomerProfile(name="Ada Lovelace", email="ada@example.org", phone="+14155550100")
    sealed = pii.seal_profile(key, "t1", "cust-0001", profile)
    assert "ada@example.org" not in sealed and "Ada" not in sealed
    assert pii.open_profile(key, "t1", "cust-0001", sealed) == profile
    with pytest.raises(pii.PiiError):
        pii.open_profile(pii.new_key(), "t1", "cust-0001", sealed)
    with pytest.raises(pii.PiiError):  # pasted onto another customer
        pii.open_profile(key, "t1", "cust-0002", sealed)
    with pytest.raises(pii.PiiError):  # or another tenant
        pii.open_profile(key, "t2", "cust-0001", sealed)


def test_data_keys_wrap_under_the_tenant_key():
    tenant = pii.TenantKeys(pii.new_key())
    dk = pii.new_key()
    wrapped = pii.wrap_data_key(tenant, "t1", "cust-0001", dk)
    assert pii.unwrap_data_key(tenant, "t1", "cust-0001", wrapped) == dk
    with pytest.raises(pii.PiiError):
        pii.unwrap_data_key(pii.TenantKeys(pii.new_key()), "t1", "cust-0001", wrapped)


def test_blind_index_matches_equal_values_after_normalisation_and_differs_per_tenant():
    a, b = pii.TenantKeys(pii.new_key()), pii.TenantKeys(pii.new_key())
    one = pii.blind_index(a, "email", pii.normalize_email(" Ada@Example.ORG "))
    assert one == pii.blind_index(a, "email", pii.normalize_email("ada@example.org"))
    assert one != pii.blind_index(b, "email", "ada@example.org")
    assert one != pii.blind_index(a, "phone", "ada@example.org")
    assert pii.normalize_phone("(415) 555-0100") == pii.normalize_phone("+1 415 555 0100") == "+14155550100"
    assert pii.normalize_phone("030 1234567", "DE") == "+49301234567"


@pytest.mark.parametrize("raw", ["", "nobody", "a@b", "a@@b.com", "x" * 300 + "@a.com"])
def test_bad_emails_are_refused(raw):
    with pytest.raises(pii.PiiError):
        pii.normalize_email(raw)


@pytest.mark.parametrize("raw", ["", "12", "not a number", "+1 555"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(pii.PiiError):
        pii.normalize_phone(raw)


def test_card_codes_carry_a_check_digit_and_normalise():
    code = pii.new_card_code()
    assert pii.normalize_card_code(code.lower()) == code and len(code) == 14
    assert pii.guess_kind(code) == "card" and pii.guess_kind("a@b.co") == "email"
    assert pii.guess_kind("+1 415 555 0100") == "phone"


def test_kek_comes_from_a_file_or_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "kek"
    key = pii.write_new_kek(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert pii.load_kek(file=path) == key
    with pytest.raises(FileExistsError):
        pii.write_new_kek(path)
    monkeypatch.setenv("TEST_KEK", pii.encode_key(key))
    assert pii.load_kek(env_var="TEST_KEK") == key
    monkeypatch.setenv("TEST_KEK", "short")
    with pytest.raises(pii.PiiError):
        pii.load_kek(env_var="TEST_KEK")
    with pytest.raises(pii.PiiError):
        pii.load_kek(file=tmp_path / "missing")


def test_masks_hide_most_of_the_value():
    assert pii.mask_email("ada@example.org") == "a***@e***"
    assert pii.mask_phone("+14155550100") == "•••0100"
    assert pii.mask_name("Ada King Lovelace") == "Ada K. L."
