enum TemporaryMarkerExporterTests {}
