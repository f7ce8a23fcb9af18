"""Schemathesis hooks for fuzzing ClaimFlow's API (scripts/fuzz).

They teach the generator what the document states in words: the NPI check digit (format
`npi`), what an X12 answer file looks like (formats `x12-acknowledgment`, `x12-remittance`)
and how an NDJSON batch is sent. Generated bodies that name a practice, payer or provider get
the demo's real ones, so positive cases reach the code behind the reference checks instead of
stopping at "not one of your practices"; negative cases keep whatever was generated.
"""

import json
import re
import uuid

import schemathesis
from hypothesis import strategies as st


def npi_check_digit(first_nine: str) -> str:
    """Luhn over the prefix 80840 and the first nine digits, as CMS assigns NPIs."""
    digits = [int(c) for c in "80840" + first_nine]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def npi(first_nine: str) -> str:
    return first_nine + npi_check_digit(first_nine)


schemathesis.openapi.format(
    "npi", st.from_regex(r"\A[1-2][0-9]{8}\Z").map(npi)
)

ENVELOPE = "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*CLAIMFLOW      *261120*0900*^*00501*{control:09d}*0*T*:"


def interchange(functional: str, version: str, set_id: str, body: list[str], control: int) -> str:
    transaction = [f"ST*{set_id}*0001" + ("" if set_id == "835" else f"*{version}")] + body
    segments = (
        [ENVELOPE.format(control=control), f"GS*{functional}*CLEARHOUSE*CLAIMFLOW*20261120*0900*{control}*X*{version}"]
        + transaction
        + [f"SE*{len(transaction) + 1}*0001", f"GE*1*{control}", f"IEA*1*{control:09d}"]
    )
    return "~\n".join(segments) + "~\n"


def ack999(control: int, group: int) -> str:
    return interchange(
        "FA", "005010X231A1", "999",
        [f"AK1*HC*{group}*005010X222A1", "AK2*837*0001*005010X222A1", "IK5*A", "AK9*A*1*1*1"], control)


def ack277(control: int, pcn: str, accepted: bool) -> str:
    status = "STC*A2:20:PR*20261120*WQ*125" if accepted else "STC*A7:562:85*20261120*U*125"
    return interchange(
        "HN", "005010X214", "277",
        [
            f"BHT*0085*08*277CA{control}*20261120*0900*TH", "HL*1**20*1", "NM1*PR*2*DEMO PAYER*****PI*60054",
            f"TRN*1*{control}", "DTP*050*D8*20261119", "DTP*009*D8*20261120", "HL*2*1*21*1",
            "NM1*41*2*CLAIMFLOW*****46*CLAIMFLOW", f"TRN*2*{control}", "STC*A1:19:PR*20261120*WQ*0", "HL*3*2*19*1",
            "NM1*85*2*PRACTICE*****XX*1234567893", "TRN*1*0", "STC*A1:19:PR**WQ*0", "HL*4*3*PT",
            "NM1*QC*1*PATIENT*TEST****MI*M1", f"TRN*2*{pcn}", status, "DTP*472*D8*20261102",
        ],
        control)


def ta1(control: int, interchange_number: int, code: str) -> str:
    return "~\n".join([
        ENVELOPE.format(control=control), f"TA1*{interchange_number:09d}*261120*0900*{code}*{'000' if code == 'A' else '022'}",
        f"IEA*0*{control:09d}",
    ]) + "~\n"


def remittance(control: int, pcn: str, paid: int) -> str:
    return interchange(
        "HP", "005010X221A1", "835",
        [
            f"BPR*I*{paid}*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*031300012*DA*987654321*20261125",
            f"TRN*1*EFT{control}*1512345678", "DTM*405*20261124", "N1*PR*DEMO PAYER", "REF*2U*60054",
            "N1*PE*PRACTICE*XX*1234567893", "LX*1", f"CLP*{pcn}*1*125*{paid}*0*12*PAYER{control}*11*1",
            f"CAS*CO*45*{125 - paid}",
        ],
        control)


pcns = st.from_regex(r"\A[0-9A-F]{20}\Z")
controls = st.integers(min_value=1, max_value=999_999_998)

schemathesis.openapi.format(
    "x12-acknowledgment",
    st.one_of(
        st.builds(ack999, controls, st.integers(min_value=1, max_value=999_999_998)),
        st.builds(ack277, controls, pcns, st.booleans()),
        st.builds(ta1, controls, controls, st.sampled_from(["A", "E", "R"])),
    ),
)
schemathesis.openapi.format(
    "x12-remittance", st.builds(remittance, controls, pcns, st.integers(min_value=0, max_value=125))
)


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return "".join(json.dumps(item) + "\n" for item in value).encode("utf-8")
    return (json.dumps(value) + "\n").encode("utf-8")


# The demo's references (Sources/claimflow/DemoSeeder.swift).
PRACTICE = "DEMO"
PAYERS = ["DEMOMCR", "DEMOBCBS", "DEMOAET"]
PROVIDERS = [npi("198765432"), npi("176543210"), npi("154321098")]
PRACTICE_CODE = re.compile(r"\A[A-Z0-9_-]{2,20}\Z")
PAYER_CODE = re.compile(r"\A[A-Za-z0-9]{2,80}\Z")


def _real_references(body, seed: int):
    if not isinstance(body, dict):
        return body
    if isinstance(body.get("practice_code"), str) and PRACTICE_CODE.match(body["practice_code"]):
        body["practice_code"] = PRACTICE
    coverage = body.get("coverage")
    if isinstance(coverage, dict) and isinstance(coverage.get("payer_code"), str) and PAYER_CODE.match(coverage["payer_code"]):
        coverage["payer_code"] = PAYERS[seed % len(PAYERS)]
    if isinstance(body.get("rendering_provider_npi"), str) and re.fullmatch(r"[0-9]{10}", body["rendering_provider_npi"]):
        body["rendering_provider_npi"] = PROVIDERS[seed % len(PROVIDERS)]
    practices = body.get("practices")
    if isinstance(practices, list) and all(isinstance(p, str) and PRACTICE_CODE.match(p) for p in practices):
        body["practices"] = [PRACTICE for _ in practices][:1]
    return body


def _fix_npis(value):
    """A ten-digit NPI gets its Luhn check digit: the generator knows the pattern, not the check."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("npi", "rendering_provider_npi") and isinstance(item, str) and re.fullmatch(r"[0-9]{10}", item):
                value[key] = npi(item[:9])
            else:
                _fix_npis(item)
    elif isinstance(value, list):
        for item in value:
            _fix_npis(item)


X12_BODIES = {
    "/api/v1/acknowledgments": lambda seed: [ack999(seed + 1, seed + 7), ack277(seed + 1, "F" * 20, seed % 2 == 0), ta1(seed + 1, seed + 3, "R")][seed % 3],
    "/api/v1/remittances": lambda seed: remittance(seed + 1, "F" * 20, seed % 126),
}


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """Every phase (the coverage phase uses no format strategies): real references, valid
    NPIs, and an X12 file where a string body is sent to an X12 endpoint."""
    body = case.body
    seed = len(json.dumps(body, default=str)) if body is not None else 0
    if isinstance(body, dict):
        _real_references(body, seed)
        _fix_npis(body)
    path = case.operation.path
    if path in X12_BODIES and isinstance(body, str):
        case.body = X12_BODIES[path](seed)
    # A client makes a new Idempotency-Key for every write it means to make once; a key the
    # generator repeats across operations would be a reused key (422 by design). A key that is
    # not of the documented form is left as generated.
    meta = case.meta
    if meta is not None and (meta.generation.mode.is_negative or any(c.mode.is_negative for c in meta.components.values())):
        # A negative case (a header left out on purpose, say) is sent as generated.
        return
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and re.fullmatch(r"[!-~]{1,200}", headers[name]):
            headers[name] = str(uuid.uuid4())
