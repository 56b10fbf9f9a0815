enum TemporaryMarkerShellySimulatorTests {}
