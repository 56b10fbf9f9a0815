import EnergyModel

/// A span of a device's stored history to read for a gap: `[from, to)`, unix milliseconds,
/// whole minutes (the gap's first minute to the end of its last).
public struct HistoryRequest: Sendable, Equatable {
    /// Start, unix milliseconds.
    public var fromMilliseconds: Int64
    /// End (exclusive), unix milliseconds.
    public var toMilliseconds: Int64

    /// Creates a request.
    public init(fromMilliseconds: Int64, toMilliseconds: Int64) {
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
    }
}

/// What reading a device's history gave.
public enum HistoryRead: Sendable, Equatable {
    /// The records of the request's span (those the device still keeps).
    case records(DeviceMinutes, HistoryRequest)
    /// The history could not be read; why, in one line.
    case failed(String, HistoryRequest)

    /// The request it answers.
    public var request: HistoryRequest {
        switch self {
        case .records(_, let request), .failed(_, let request): request
        }
    }
}

/// Where a device keeps the history of the meter read.
enum HistoryEndpoint: Sendable, Equatable {
    /// `EMData.GetData?id=N` (three-phase meters, `em:N`).
    case emData(id: Int)
    /// `EM1Data.GetData?id=N` (single-phase meters, `em1:N`).
    case em1Data(id: Int)
    /// Gen1 `/emeter/N/em_data.csv`.
    case gen1CSV(channel: Int)

    /// The history of a Gen2+ component, if it keeps one.
    init?(_ component: MeterComponent) {
        switch component.kind {
        case .em: self = .emData(id: component.id)
        case .em1: self = .em1Data(id: component.id)
        case .switch, .pm1: return nil
        }
    }
}
