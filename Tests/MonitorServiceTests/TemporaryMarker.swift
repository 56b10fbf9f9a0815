enum TemporaryMarkerMonitorServiceTests {}
