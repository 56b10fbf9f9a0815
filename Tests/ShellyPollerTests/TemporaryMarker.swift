enum TemporaryMarkerShellyPollerTests {}
