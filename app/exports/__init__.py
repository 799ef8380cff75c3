"""The open-data export: the whole public registry as a Frictionless Data Package
(datapackage.json and one CSV per public table, each with its Table Schema), written into a
folder (`zoo-registry export DIR`) or streamed as a zip (`GET /api/v1/export.zip`).

Depends on app.core, app.models and the concern package's face only. Its public face is what
this module exports.
"""

from app.exports.package import Progress, descriptor, stream_zip, write_package, zip_filename

__all__ = ["Progress", "descriptor", "stream_zip", "write_package", "zip_filename"]
