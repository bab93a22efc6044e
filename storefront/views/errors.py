"""Error pages: HTML for browsers, JSON for JSON routes; never a traceback."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify, make_response, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ..templating import render

logger = logging.getLogger(__name__)

bp = Blueprint("errors", __name__)

JSON_PREFIXES = ("/oembed", "/healthz", "/api/")


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def handle_http_error(error: HTTPException):
    code = error.code or 500
    if wants_json():
        response = jsonify(error=error.name, status=code, message=error.description)
    else:
        html = render("errors/error.html", code=code, name=error.name, message=error.description)
        response = make_response(html, code, {"Content-Type": "text/html; charset=utf-8"})
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_unexpected(error: Exception):
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
