"""Write small, contract-conformant drops for tests, from the layouts (control files, headers,
trailers, encodings, line ends all right), so a test states only what it changes."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from sources.layout import FileLayout, file_layouts

Row = Mapping[str, str] | str | bytes  # field values by header name / field name, or a raw line

TEMPLATES: dict[str, dict[str, str]] = {
    "wp_registrations": {
        "Individual ID": "IA0000000001", "SSN": "123-45-6780", "First Name": "Ana", "Middle Name": "M",
        "Last Name": "Lopez", "Suffix": "", "Date of Birth": "04/24/1992", "Gender": "Female", "Hispanic": "Yes",
        "Race": "White", "Veteran": "No", "Disability": "No", "Address": "12 main st", "City": "Ames",
        "State": "IA", "ZIP": "50010", "Phone": "(515) 555-0142", "Email": "", "Education Level": "Some College",
        "Employment Status": "Unemployed", "UI Claimant": "Yes", "Registration Date": "03/01/2024",
        "Record Status": "Active", "Last Updated": "03/01/2024 10:00:00",
    },
    "wp_services": {
        "Service ID": "S000000001", "Individual ID": "IA0000000001", "Service Code": "101",
        "Service Date": "03/01/2024", "Staff Assisted": "Y", "Office": "Ames", "Record Status": "Active",
        "Last Updated": "03/01/2024 10:00:00",
    },
    "ui_claims": {
        "claim_id": "C00000000001", "ssn": "123456780", "last_name": "LOPEZ", "first_name": "ANA",
        "middle_name": "M", "name_suffix": "", "birth_date": "19920424", "sex": "F", "street": "12 MAIN ST",
        "city": "AMES", "state": "IA", "zip5": "50010", "zip4": "", "phone": "5155550142", "claim_type": "N",
        "claim_filed_date": "20240226", "benefit_year_begin": "20240225", "weekly_benefit_amount": "0045000",
        "employer_fein": "123456789", "employer_naics": "561320", "separation_reason": "LW",
        "profiling_score": "064", "resea_selected": "Y", "last_payment_date": "00000000", "exhausted": "N",
        "status": "A", "last_updated": "20240226101500",
    },
    "ui_wages": {
        "ssn": "123456780", "last_name": "LOPEZ", "first_name": "ANA", "middle_name": "M",
        "employer_account": "3199716799", "employer_fein": "843814251", "employer_naics": "561320",
        "year": "2024", "quarter": "1", "wages": "00001210010",
    },
    "vr_cases": {
        "CASE_ID": "VR00000001", "CLIENT_ID": "K0000001", "SSN": "123456780", "CLIENT_NAME": "LOPEZ, ANA M",
        "DOB": "19920424", "GENDER": "F", "ADDR": "12 MAIN ST", "CITY": "AMES", "ST": "IA", "ZIP": "50010",
        "PHONE": "", "APPLICATION_DT": "20240201", "ELIGIBILITY_DT": "", "OOS_CATEGORY": "0",
        "WAITLIST_START_DT": "", "WAITLIST_END_DT": "", "IPE_DT": "", "SERVICE_START_DT": "", "CLOSURE_DT": "",
        "CLOSURE_TYPE": "", "CLOSURE_REASON": "", "PRIMARY_IMPAIRMENT": "09", "EDUCATION_TRAINING": "N",
        "STATUS": "A", "UPDATE_TS": "20240201120000",
    },
    "ae_attendance": {"StudentID": "100001", "ClassID": "CL001", "ClassDate": "2/11/2024", "Hours": "2.5"},
}  # fmt: skip


def _line_fixed(layout: FileLayout, values: Mapping[str, str]) -> str:
    out = []
    for f in layout.fields:
        v = f.value if f.type == "const" else values.get(f.name, "")
        out.append(str(v)[: f.length].ljust(int(f.length or 0)))
    return "".join(out)


def _line_delimited(layout: FileLayout, values: Sequence[str]) -> str:
    if layout.quoting == "rfc4180":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(values)
        return buf.getvalue()
    return (layout.delimiter or ",").join(values)


def file_bytes(
    layout: FileLayout,
    period: str,
    rows: Sequence[Row],
    *,
    full: bool = False,
    total_override: int | None = None,
    count_override: int | None = None,
) -> bytes:
    nl = layout.line_ending.encode()
    lines: list[bytes] = []
    template = TEMPLATES.get(layout.file_type, {})
    enc = layout.encoding
    if layout.format == "fixed_width":
        header = {
            "extract_date": period,
            "extract_type": "F" if full else "D",
            "period": period.replace("Q", ""),
        }
        assert layout.header_record and layout.trailer_record
        lines.append(_record(layout, layout.header_record.fields, header).encode(enc))
    else:
        lines.append(_line_delimited(layout, [f.source or f.name for f in layout.fields]).encode(enc))
    total = 0
    for row in rows:
        if isinstance(row, bytes):
            lines.append(row)
            continue
        if isinstance(row, str):
            lines.append(row.encode(enc, errors="surrogateescape"))
            continue
        values = {**template, **row}
        if layout.format == "fixed_width":
            if layout.control_total:
                total += int(values[layout.control_total])
            lines.append(_line_fixed(layout, values).encode(enc))
        else:
            lines.append(
                _line_delimited(layout, [values[f.source or f.name] for f in layout.fields]).encode(enc)
            )
    if layout.format == "fixed_width":
        assert layout.trailer_record
        count = count_override if count_override is not None else len(rows)
        total = total_override if total_override is not None else total
        trailer = {"record_count": f"{count:09d}", "total_wages": f"{total:015d}"}
        lines.append(_record(layout, layout.trailer_record.fields, trailer).encode(enc))
    data = nl.join(lines) + nl
    return (b"\xef\xbb\xbf" + data) if layout.bom else data


def _record(layout: FileLayout, fields: Sequence[object], values: Mapping[str, str]) -> str:
    text = ""
    for f in fields:
        v = f.value if f.type == "const" else values[f.name]  # type: ignore[attr-defined]
        text += str(v).ljust(f.length)  # type: ignore[attr-defined]
    return text.ljust(layout.record_length or 0)


def write_file(
    landing: Path,
    file_type: str,
    period: str,
    rows: Sequence[Row],
    *,
    full: bool = False,
    ctl_records: int | None = None,
    ctl_digest: str | None = None,
    **kwargs: int,
) -> Path:
    """One data file (and its control file) in `<landing>/<system>/<period>/`."""
    layout = file_layouts()[file_type]
    folder = landing / layout.system / period
    folder.mkdir(parents=True, exist_ok=True)
    data = file_bytes(layout, period, rows, full=full, **kwargs)
    path = folder / layout.file_name(period)
    path.write_bytes(data)
    if layout.control_file:
        records = sum(1 for line in data.splitlines()[1:] if line.strip())
        digest = hashlib.sha256(data).hexdigest()
        day = f"{period[:4]}-{period[4:6]}-{period[6:8]}"
        (folder / (path.name + ".ctl")).write_text(
            f"records={ctl_records if ctl_records is not None else records}\n"
            f"sha256={ctl_digest or digest}\nextract_type={'FULL' if full else 'DELTA'}\nextract_date={day}\n"
        )
    return path


def write_drop(
    landing: Path, system: str, period: str, files: Mapping[str, Sequence[Row]], *, full: bool = False
) -> list[Path]:
    """A whole drop: every file type of the system (empty ones too, as the systems send them)."""
    out = []
    for ft, layout in file_layouts().items():
        if layout.system == system:
            out.append(write_file(landing, ft, period, files.get(ft, []), full=full))
    return out
