enum TemporaryMarkerStoreTests {}
