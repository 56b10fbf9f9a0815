enum TemporaryMarkerIntegrationTests {}
