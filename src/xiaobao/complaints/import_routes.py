"""Bulk import of regulator-forwarded complaints: the upload page and its report, the JSON API and the
template download. Thin: the work is in `complaints.imports`."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.complaints import imports, services
from xiaobao.web.deps import ContainerDep, LangDep, UowDep, require
from xiaobao.web.templating import render

router = APIRouter()

Importer = Annotated[Principal, require(Perm.COMPLAINT_IMPORT)]
Upload = Annotated[UploadFile | None, File(description="The regulator's .xlsx or .csv file")]


def _ctx(container: ContainerDep) -> services.IntakeContext:
    return services.IntakeContext(
        now=container.clock.now(),
        calendar=container.calendar,
        contact_workdays=container.settings.contact_target_workdays,
    )


def _read(file: UploadFile | None) -> tuple[str, bytes]:
    """The uploaded bytes, refusing early what is over the size limit."""
    if file is None or not file.filename:
        raise imports.ImportFileError(
            "请选择要导入的文件（.xlsx 或 .csv）", "Choose a file to import (.xlsx or .csv)"
        )
    data = file.file.read(imports.MAX_BYTES + 1)
    if len(data) > imports.MAX_BYTES:
        raise imports.ImportFileTooLarge(
            f"文件超过 {imports.MB} MB 上限，请拆分后分批导入",
            f"The file is larger than the {imports.MB} MB limit; split it",
        )
    return file.filename, data


def _attachment(content: bytes, filename: str, ascii_name: str) -> Response:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content,
        media_type=imports.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


def _form_ctx() -> dict[str, Any]:
    return {"columns": imports.COLUMNS, "max_rows": imports.MAX_ROWS, "max_mb": imports.MB}


@router.get("/complaints/import", include_in_schema=False)
def upload_form(request: Request, who: Importer) -> Any:
    return render(request, "imports/upload.html", {**_form_ctx(), "error": None})


@router.post("/complaints/import", include_in_schema=False)
def upload(
    request: Request, uow: UowDep, container: ContainerDep, lang: LangDep, who: Importer, file: Upload = None
) -> Any:
    try:
        filename, data = _read(file)
        report = imports.import_regulator_complaints(uow, who, filename, data, _ctx(container))
    except imports.ImportFileError as e:
        return render(request, "imports/upload.html", {**_form_ctx(), "error": e}, status_code=e.status_code)
    stem = report.filename.rsplit(".", 1)[0] or "import"
    workbook = base64.b64encode(imports.report_workbook(report, lang)).decode()
    return render(
        request,
        "imports/report.html",
        {
            "report": report,
            "outcomes": report.ordered(),
            "status_labels": imports.STATUS_LABELS,
            "column_label": imports.column_label,
            "report_b64": workbook,
            "report_name": f"{stem}-导入结果.xlsx" if lang == "zh" else f"{stem}-import-report.xlsx",
            "media_type": imports.XLSX_MEDIA_TYPE,
        },
    )


@router.get("/complaints/import/template.xlsx", include_in_schema=False)
def template(uow: UowDep, lang: LangDep, who: Importer) -> Response:
    content = imports.template_workbook(imports.orgs_in_scope(uow.session, who), lang)
    name = "监管转办导入模板.xlsx" if lang == "zh" else "regulator-import-template.xlsx"
    return _attachment(content, name, "regulator-import-template.xlsx")


@router.post(
    "/api/v1/complaint-imports",
    tags=["complaints"],
    summary="Import regulator-forwarded complaints (监管转办) from an .xlsx or .csv file",
    responses={
        200: {"description": "The per-row report: counts and outcomes, failed rows first"},
        403: {"description": "Needs the complaint.import permission"},
        413: {"description": "File over 10 MB"},
        422: {"description": "The file cannot be imported (format, encoding, header, rows)"},
    },
)
def api_import(uow: UowDep, container: ContainerDep, who: Importer, file: Upload = None) -> JSONResponse:
    filename, data = _read(file)
    report = imports.import_regulator_complaints(uow, who, filename, data, _ctx(container))
    return JSONResponse(report.to_dict())
