"""Pages for cases: list with filters, detail, pin moving, import (upload → preview → confirm)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from geo_app import db_session
from geo_app.aggregates import SMALL_COUNT
from geo_app.aggregates import count_cases
from geo_app.aggregates import suppress_small
from geo_app.auth_views import audit
from geo_app.auth_views import current_scope
from geo_app.cases import CaseContext
from geo_app.cases import EditConflictError
from geo_app.cases import ImportRejectedError
from geo_app.cases import Prepared
from geo_app.cases import apply_import
from geo_app.cases import move_pin
from geo_app.cases import prepare_import
from geo_app.cases import save_mapping
from geo_app.security import ALL_ROLES
from geo_app.security import PEOPLE
from geo_app.security import STAFF
from geo_app.security import allow
from geo_app.security import safe_filename
from geo_app.store import paginate
from geo_app.store.models import Case
from geo_app.store.models import ImportBatch
from geo_app.store.models import Student
from layers.classify import CATEGORY_LABELS
from layers.geocode import CONFIDENCE
from layers.geocode import METHODS
from layers.geocode import confidence
from layers.intake import FIELDS
from layers.intake import IntakeError
from layers.intake import format_run
from layers.intake import parse_period
from layers.intake import rejected_rows_csv

__all__ = ["bp", "case_context", "db_session"]

bp = Blueprint("cases", __name__)
log = logging.getLogger(__name__)
PAGE_SIZE = 50
PENDING_MAX_AGE_S = 2 * 24 * 3600


def case_context() -> CaseContext:
    """Schools, gazetteer and islands of the app's territory (built once)."""
    context = current_app.extensions.get("revincula.cases")
    if context is None:
        context = CaseContext.from_territory(
            current_app.extensions["revincula.territory"],
            current_app.extensions.get("revincula.streets"),
        )
        current_app.extensions["revincula.cases"] = context
    return context


def _actor() -> str:
    return current_user.username


@bp.app_context_processor
def _template_globals() -> dict:
    return {
        "category_labels": CATEGORY_LABELS,
        "method_labels": {k: v[0] for k, v in METHODS.items()},
        "format_run": format_run,
        "confidence": confidence,
    }


# --------------------------------------------------------------------------- list


def _confidence_clause(level: str):
    bounds = dict(CONFIDENCE)
    if level == "alta":
        return Case.geocode_score >= bounds["alta"]
    if level == "media":
        return (Case.geocode_score >= bounds["media"]) & (Case.geocode_score < bounds["alta"])
    return Case.geocode_score < bounds["media"]


def _filtered(args) -> tuple[object, dict]:  # noqa: C901 - one branch per filter
    query = select(Case).join(Student)
    chosen = {}
    for key, column in (("comuna", Case.comuna), ("isla", Case.island)):
        if args.get(key):
            query = query.where(column == args[key])
            chosen[key] = args[key]
    if args.get("rbd", "").isdigit():
        query = query.where(Case.rbd == int(args["rbd"]))
        chosen["rbd"] = args["rbd"]
    if args.get("categoria") in CATEGORY_LABELS:
        query = query.where(Case.category == args["categoria"])
        chosen["categoria"] = args["categoria"]
    if args.get("elegible") == "reinsercion":
        query = query.where(Case.eligible_reinsercion.is_(True))
        chosen["elegible"] = "reinsercion"
    elif args.get("elegible") == "aulas":
        query = query.where(Case.eligible_aulas.is_(True))
        chosen["elegible"] = "aulas"
    if args.get("confianza") in ("alta", "media", "baja"):
        query = query.where(_confidence_clause(args["confianza"]))
        chosen["confianza"] = args["confianza"]
    if args.get("en_lista") == "no":
        query = query.where(Case.in_latest_list.is_(False))
        chosen["en_lista"] = "no"
    text = " ".join(args.get("q", "").split())
    if text:
        digits = re.sub(r"\D", "", text.split("-")[0])
        clauses = [func.lower(Student.given_names + " " + Student.surnames).contains(text.lower())]
        if digits:
            clauses.append(Student.run == int(digits))
        query = query.where(or_(*clauses))
        chosen["q"] = text
    return query, chosen


def _counts(db: Session, column) -> dict:
    """Cases in the account's scope, counted by `column`."""
    query = current_scope().cases(select(column, func.count()).select_from(Case).group_by(column))
    return {key: n for key, n in db.execute(query).all()}  # noqa: C416


@bp.get("/casos")
@allow(*PEOPLE)
def case_list() -> str:
    """Cases in the account's scope, highest priority first, with filters."""
    context = case_context()
    scope = current_scope()
    query, chosen = _filtered(request.args)
    query = scope.cases(query)
    page = max(request.args.get("pagina", 1, type=int), 1)
    with db_session() as db, db.begin():
        cases, total, pages = paginate(
            db,
            query.order_by(Case.priority.desc(), Case.id),
            page,
            PAGE_SIZE,
            options=(joinedload(Case.student),),
        )
        by_method = _counts(db, Case.geocode_method)
        islands = sorted(i for i in db.scalars(scope.cases(select(Case.island).distinct())) if i)
        synthetic = count_cases(db, scope, synthetic=True)
        filters = ", ".join(k for k in chosen if k != "q") + (
            " + búsqueda" if "q" in chosen else ""
        )
        audit(db, "ver", "lista_casos", case_ids=[c.id for c in cases], detail=filters)
    schools = sorted(
        ((rbd, s["name"]) for rbd, s in context.schools.items() if s["is_slep"]),
        key=lambda x: x[1],
    )
    return render_template(
        "cases.html",
        cases=cases,
        total=total,
        page=page,
        pages=pages,
        chosen=chosen,
        comunas=sorted(c for c in context.comunas if scope.comuna_allowed(c)),
        islands=islands,
        schools=schools,
        school_names={rbd: s["name"] for rbd, s in context.schools.items()},
        by_method=by_method,
        synthetic=synthetic,
    )


# --------------------------------------------------------------------------- detail


NOT_YOURS = "No existe el caso {case_id} o no está entre sus casos."


def _case_or_404(db: Session, case_id: int) -> None:
    if not current_scope().can_see_case(db, case_id):
        abort(404, description=NOT_YOURS.format(case_id=case_id))


@bp.get("/casos/<int:case_id>")
@allow(*PEOPLE)
def case_detail(case_id: int) -> str:
    """One case: map, attendance history, contacts, changes."""
    with db_session() as db, db.begin():
        case = db.scalar(
            current_scope()
            .cases(select(Case).where(Case.id == case_id))
            .options(
                joinedload(Case.student),
                selectinload(Case.attendance),
                selectinload(Case.contacts),
                selectinload(Case.changes),
            )
        )
        if case is None:
            abort(404, description=NOT_YOURS.format(case_id=case_id))
        audit(db, "ver", "caso", target_id=case_id, case_ids=[case_id])
        school = case_context().schools.get(case.rbd, {})
        return render_template("case_detail.html", case=case, school=school)


@bp.post("/casos/<int:case_id>/ubicacion")
@allow(*PEOPLE)
def case_move(case_id: int):
    """Move a case's pin by hand (who and when recorded; a stale form is refused)."""
    try:
        lat = float(request.form["lat"])
        lon = float(request.form["lon"])
        version = int(request.form["version"])
    except (KeyError, ValueError):
        flash("Ubicación no válida: haga clic en el mapa para elegir el punto.", "error")
        return redirect(url_for("cases.case_detail", case_id=case_id))
    with db_session() as db:
        try:
            with db.begin():
                _case_or_404(db, case_id)
                move_pin(db, case_context(), case_id, lon, lat, actor=_actor(),
                         expected_version=version)  # fmt: skip
                audit(db, "cambiar", "ubicacion_caso", target_id=case_id, case_ids=[case_id])
        except LookupError:
            abort(404)
        except EditConflictError as err:
            flash(str(err), "error")
            return redirect(url_for("cases.case_detail", case_id=case_id)), 409
        except ValueError as err:
            flash(str(err), "error")
            return redirect(url_for("cases.case_detail", case_id=case_id))
    flash("Ubicación guardada (ubicado a mano).", "ok")
    return redirect(url_for("cases.case_detail", case_id=case_id))


# --------------------------------------------------------------------------- map layer


@bp.get("/api/casos.geojson")
@allow(*PEOPLE)
def cases_geojson() -> Response:
    """Located cases in scope for the map: no names, only category, priority and confidence."""
    with db_session() as db, db.begin():
        rows = db.execute(
            current_scope().cases(select(
                Case.id, Case.lon, Case.lat, Case.category, Case.priority, Case.geocode_method,
                Case.geocode_score, Case.comuna, Case.rbd, Student.synthetic,
            )
            .join(Student)
            .where(Case.lon.is_not(None), Case.in_latest_list))
        ).all()  # fmt: skip
        audit(db, "ver", "mapa_casos", n_records=len(rows), detail="puntos sin nombres")
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": {
                "id": cid,
                "categoria": category,
                "prioridad": round(priority, 1),
                "metodo": method,
                "confianza": confidence(score),
                "comuna": comuna,
                "rbd": rbd,
                "sintetico": bool(synthetic),
            },
        }
        for cid, lon, lat, category, priority, method, score, comuna, rbd, synthetic in rows
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    return Response(body, mimetype="application/geo+json")


# --------------------------------------------------------------------------- import


def _pending_dir() -> Path:
    folder = Path(current_app.instance_path) / "importaciones"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _forget(folder: Path, token: str) -> None:
    (folder / f"{token}.bin").unlink(missing_ok=True)
    (folder / f"{token}.json").unlink(missing_ok=True)


def _drop_stale_uploads(folder: Path) -> None:
    """Remove uploads never confirmed (checked when a new file arrives)."""
    now = time.time()
    for old in folder.glob("*.bin"):
        try:
            age = now - old.stat().st_mtime
        except FileNotFoundError:  # imported or dropped by a concurrent request
            continue
        if age > PENDING_MAX_AGE_S:
            _forget(folder, old.stem)


def _pending(token: str) -> tuple[bytes, dict]:
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token):
        abort(404)
    folder = _pending_dir()
    data_path, meta_path = folder / f"{token}.bin", folder / f"{token}.json"
    if not data_path.is_file():
        abort(404, description="Esta carga ya fue importada o venció; suba el archivo de nuevo.")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("owner") != _actor():  # an upload is only seen by whoever sent it
        abort(404, description="Esta carga ya fue importada o venció; suba el archivo de nuevo.")
    return data_path.read_bytes(), meta


def _prepare(db: Session, token: str) -> Prepared:
    data, meta = _pending(token)
    return prepare_import(db, case_context(), data, meta["filename"], period=meta.get("period"))


@bp.get("/importar")
@allow(*STAFF)
def import_form() -> str:
    """Upload form and the history of imports."""
    with db_session() as db:
        batches = db.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(100)).all()
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return render_template("import.html", batches=batches, default_period=last_month)


@bp.post("/importar")
@allow(*STAFF)
def import_upload():
    """Keep the uploaded file aside and show its preview."""
    upload = request.files.get("archivo")
    if upload is None or not upload.filename:
        flash("Elija un archivo CSV o XLSX para importar.", "error")
        return redirect(url_for("cases.import_form"))
    period_text = request.form.get("mes", "").strip()
    period = parse_period(period_text) if period_text else None
    if period_text and period is None:
        flash(f"Mes «{period_text}» no válido: use año-mes, por ejemplo 2026-08.", "error")
        return redirect(url_for("cases.import_form"))
    token = secrets.token_urlsafe(18)
    folder = _pending_dir()
    _drop_stale_uploads(folder)
    (folder / f"{token}.bin").write_bytes(upload.read())
    meta = {"filename": Path(upload.filename).name, "period": period, "owner": _actor()}
    (folder / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    return redirect(url_for("cases.import_preview", token=token))


@bp.get("/importar/<token>")
@allow(*STAFF)
def import_preview(token: str) -> str:
    """Report of the validation, the changes it would make, and the confirm buttons."""
    with db_session() as db:
        try:
            prepared = _prepare(db, token)
        except IntakeError as err:
            return render_template("import_preview.html", token=token, fatal=str(err)), 422
    if not prepared.match.complete:
        return render_template(
            "import_mapping.html",
            token=token,
            prepared=prepared,
            fields=FIELDS,
            current={prepared.table.headers[i]: key for key, i in prepared.match.columns.items()},
        )
    return render_template(
        "import_preview.html", token=token, prepared=prepared, fatal=None, fields=FIELDS
    )


@bp.post("/importar/<token>/columnas")
@allow(*STAFF)
def import_mapping(token: str):
    """Save the user's column mapping (reused for files with the same headers)."""
    data, meta = _pending(token)
    with db_session() as db:
        try:
            prepared = prepare_import(db, case_context(), data, meta["filename"])
        except IntakeError as err:
            flash(str(err), "error")
            return redirect(url_for("cases.import_form"))
        mapping = {}
        for index, header in enumerate(prepared.table.headers):
            choice = request.form.get(f"col{index}", "")
            mapping[header] = choice if choice in FIELDS else ""
        save_mapping(db, prepared.table, mapping)
        db.commit()
    return redirect(url_for("cases.import_preview", token=token))


@bp.get("/importar/<token>/rechazadas.csv")
@allow(*STAFF)
def import_rejected(token: str) -> Response:
    """Rejected rows with their errors, to fix in a spreadsheet and upload again."""
    with db_session() as db, db.begin():
        prepared = _prepare(db, token)
        audit(db, "exportar", "filas_rechazadas", target_id=token[:12],
              n_records=len(prepared.result.rejected))  # fmt: skip
    body = rejected_rows_csv(prepared.table.headers, prepared.result)
    name = safe_filename(Path(prepared.filename).stem + "_rechazadas.csv", "rechazadas.csv")
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/importar/<token>/confirmar")
@allow(*STAFF)
def import_confirm(token: str):
    """Import in one transaction: every row, or only the valid ones if the user chose so."""
    only_valid = request.form.get("solo_validas") == "1"
    with db_session() as db:
        try:
            with db.begin():
                prepared = _prepare(db, token)
                batch = apply_import(
                    db,
                    case_context(),
                    prepared,
                    only_valid=only_valid,
                    actor=_actor(),
                    comunas=current_scope().comunas,
                )
                audit(db, "cambiar", "importacion", target_id=batch.id,
                      n_records=batch.n_new + batch.n_updated)  # fmt: skip
        except (ImportRejectedError, IntakeError) as err:
            flash(str(err), "error")
            return redirect(url_for("cases.import_preview", token=token))
        except (HTTPException, EditConflictError):
            raise
        except StaleDataError:
            flash(
                "Otra importación cambió los mismos casos al mismo tiempo; no se guardó nada de "
                "este archivo. Pulse de nuevo «Importar» para reintentar.",
                "error",
            )
            return redirect(url_for("cases.import_preview", token=token)), 303
        except Exception as err:
            log.error("import %s failed: %s", token[:8], type(err).__name__)  # no data in logs
            flash(
                "La importación falló y no se guardó nada (se deshizo completa). El archivo sigue "
                "cargado: pulse de nuevo «Importar» para reintentar.",
                "error",
            )
            return redirect(url_for("cases.import_preview", token=token)), 303
        batch_id = batch.id
    _forget(_pending_dir(), token)
    flash("Importación terminada.", "ok")
    return redirect(url_for("cases.import_batch", batch_id=batch_id))


@bp.get("/importar/lote/<int:batch_id>")
@allow(*STAFF)
def import_batch(batch_id: int) -> str:
    """Show the stored report of one import (to whoever made it, or an all-comunas account)."""
    with db_session() as db, db.begin():
        batch = db.get(ImportBatch, batch_id)
        if batch is None or not (current_scope().all_comunas or batch.actor == _actor()):
            abort(404, description="No existe esa importación o no está en su ámbito.")
        audit(db, "ver", "informe_importacion", target_id=batch_id, n_records=batch.n_rows)
    return render_template("import_batch.html", batch=batch)


@bp.get("/api/casos/resumen")
@allow(*ALL_ROLES)
def cases_summary():
    """Return counts in scope by category and by geocoding method (JSON; small counts hidden)."""
    with db_session() as db:
        by_category, by_method = _counts(db, Case.category), _counts(db, Case.geocode_method)
    if current_scope().role == "mesa":
        by_category, by_method = suppress_small(by_category), suppress_small(by_method)
    return jsonify(
        {"por_categoria": by_category, "por_metodo": by_method, "umbral_reserva": SMALL_COUNT}
    )
