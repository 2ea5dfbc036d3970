"""SM2 with SM3: our signatures verify in OpenSSL and OpenSSL's in ours; keys round-trip through files OpenSSL reads."""
import pickle
import subprocess

import pytest
from gmssl import sm2 as gmssl_sm2
from hypothesis import given, settings, strategies as st

from portal.certificates import sm2
from portal.certificates.sm2 import DEFAULT_ID, Sm2Error, Sm2PrivateKey, Sm2PublicKey

DISTID = "distid:" + DEFAULT_ID.decode()  # OpenSSL 3.0's pkeyutl uses an empty ID unless told


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True)


@pytest.fixture(scope="module")
def key():
    return Sm2PrivateKey.generate()


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=sm2.N - 1))
def test_fixed_base_multiplication_agrees_with_gmssl(k):
    xy = gmssl_sm2.CryptSM2(private_key="", public_key="")._kg(k, gmssl_sm2.default_ecc_table["g"])
    assert sm2._base_multiply(k) == (int(xy[:64], 16), int(xy[64:], 16))


def test_signature_verifies_and_fails_for_another_message(key):
    signature = key.sign(b"Signature.xml bytes")
    assert key.public_key.verify(b"Signature.xml bytes", signature)
    assert not key.public_key.verify(b"Signature.xml byteS", signature)
    assert not Sm2PrivateKey.generate().public_key.verify(b"Signature.xml bytes", signature)
    assert not key.public_key.verify(b"Signature.xml bytes", signature, uid=b"another id")


def test_openssl_verifies_our_signature(key, tmp_path):
    message = "电子证照 SM2 签名".encode()
    (tmp_path / "pub.der").write_bytes(key.public_key.spki_der())
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(key.sign(message))
    args = ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", str(tmp_path / "pub.der"), "-rawin",
            "-digest", "sm3", "-pkeyopt", DISTID, "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig")]
    result = openssl(*args)
    assert result.returncode == 0 and b"Verified Successfully" in result.stdout, result.stderr
    (tmp_path / "msg").write_bytes(message + b"!")
    assert openssl(*args).returncode != 0


def test_we_verify_openssls_signature_and_read_its_key_file(key, tmp_path):
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.encrypted_pem(b"secret"))
    (tmp_path / "msg").write_bytes(b"hello")
    result = openssl("pkeyutl", "-sign", "-inkey", str(pem), "-passin", "pass:secret", "-rawin", "-digest", "sm3",
                     "-pkeyopt", DISTID, "-in", str(tmp_path / "msg"))
    assert result.returncode == 0, result.stderr
    assert key.public_key.verify(b"hello", result.stdout)
    assert b"ASN1 OID: SM2" in openssl("pkey", "-in", str(pem), "-passin", "pass:secret", "-text", "-noout").stdout


def test_encrypted_key_round_trips_and_refuses_a_wrong_passphrase(key):
    pem = key.encrypted_pem(b"secret")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert Sm2PrivateKey.from_encrypted_pem(pem, b"secret").public_key == key.public_key
    with pytest.raises(Sm2Error, match="wrong passphrase"):
        Sm2PrivateKey.from_encrypted_pem(pem, b"other")
    with pytest.raises(Sm2Error):
        Sm2PrivateKey.from_encrypted_pem(b"not a key", b"secret")


def test_a_public_key_whose_x_starts_with_04_works():
    # gmssl 3.2.2 strips a leading "04" from public keys with lstrip: this key's point is 04 04 b4 …
    key = Sm2PrivateKey(1300)
    assert key.public_key.point[:2] == b"\x04\x04"
    assert key.public_key.verify(b"m", key.sign(b"m"))


def test_points_off_the_curve_and_out_of_range_signatures_are_refused(key):
    with pytest.raises(Sm2Error):
        Sm2PublicKey(key.public_key.x, key.public_key.y + 1)
    with pytest.raises(Sm2Error):
        Sm2PublicKey.from_point(b"\x02" + bytes(64))
    from asn1crypto.algos import DSASignature
    for r, s in ((0, 1), (1, 0), (sm2.N, 1), (1, sm2.N)):
        assert not key.public_key.verify(b"m", DSASignature({"r": r, "s": s}).dump())
    assert not key.public_key.verify(b"m", b"\x30\x00garbage")


def test_private_keys_are_not_shown_or_pickled(key):
    d = "%x" % key._d
    assert d not in repr(key) and d not in str(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_nonces_differ_between_signatures(key):
    assert len({key.sign(b"same") for _ in range(5)}) == 5
