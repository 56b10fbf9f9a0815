import EnergyModel
import JSON

extension PlugSession {
    /// A history read in progress: the span asked, the records read so far and where the next
    /// chunk starts.
    struct HistoryState {
        var request: HistoryRequest?
        var records: [DeviceMinutes.Interval] = []
        var cursorSeconds: Int64 = 0
        var failures = 0
    }

    /// Records per `GetData` call: three hours of minutes, an answer well inside the 256 KiB a
    /// device's answer may have.
    static let historyChunkSeconds: Int64 = 3 * 3600
    /// A history read that fails this often in a row is given up.
    static let historyAttempts = 5
    /// The largest `em_data.csv` read (a Gen1 meter answers its whole history at once).
    static let maxHistoryCSVBytes = 16 << 20

    /// Asks for the device's history of `request`'s span; it is read at the following polls,
    /// one request per poll after the status and within the poll's time, once the span's last
    /// minute is over (`PlugOutcome.history`). A new request replaces one in progress.
    public func requestHistory(_ request: HistoryRequest) {
        historyState.withLock {
            $0 = HistoryState(request: request, cursorSeconds: request.fromMilliseconds / 1000)
        }
    }

    /// Reads one chunk of the history asked for, when one is asked and its span is over;
    /// returns the records once all are read, or the failure once the attempts are used up.
    func readHistory(_ endpoint: HistoryEndpoint, deadline: Int64) async -> HistoryRead? {
        let now = WallClock.nowMilliseconds()
        guard let (request, cursor) = historyState.withLock({ state in state.request.map { ($0, state.cursorSeconds) } }),
            now >= request.toMilliseconds + 2_000,
            deadline - MonotonicClock.nowNanoseconds() > 100_000_000
        else { return nil }
        let endSeconds = request.toMilliseconds / 1000
        do throws(PollFailure) {
            switch endpoint {
            case .emData(let id), .em1Data(let id):
                let method = {
                    if case .emData = endpoint { return "EMData.GetData" }
                    return "EM1Data.GetData"
                }()
                let chunkEnd = min(endSeconds, cursor + Self.historyChunkSeconds)
                let (body, _) = try await rpc(
                    method, id: id, more: [("ts", cursor), ("end_ts", chunkEnd - 1)], deadline: deadline)
                let answer: (intervals: [DeviceMinutes.Interval], nextSeconds: Int64?)
                do { answer = try ShellyParser.energyRecords(body) } catch { throw PollFailure(error.reason, error.message) }
                let next = answer.nextSeconds.map { max($0, cursor + 1) } ?? chunkEnd
                return historyState.withLock { state -> HistoryRead? in
                    guard state.request == request else { return nil }
                    state.records += answer.intervals
                    state.failures = 0
                    state.cursorSeconds = next
                    guard next >= endSeconds else { return nil }
                    defer { state = HistoryState() }
                    return .records(DeviceMinutes(source: .history, intervals: state.records), request)
                }
            case .gen1CSV(let channel):
                let (body, _) = try await get(
                    "/emeter/\(channel)/em_data.csv", authenticated: true, generation: .gen1,
                    maxBytes: Self.maxHistoryCSVBytes, deadline: deadline)
                let intervals: [DeviceMinutes.Interval]
                do {
                    intervals = try ShellyParser.gen1EnergyCSV(
                        String(decoding: body, as: UTF8.self), fromMilliseconds: request.fromMilliseconds,
                        toMilliseconds: request.toMilliseconds)
                } catch {
                    throw PollFailure(error.reason, error.message)
                }
                historyState.withLock { if $0.request == request { $0 = HistoryState() } }
                return .records(DeviceMinutes(source: .history, intervals: intervals), request)
            }
        } catch {
            return historyState.withLock { state -> HistoryRead? in
                guard state.request == request else { return nil }
                state.failures += 1
                guard state.failures >= Self.historyAttempts else { return nil }
                state = HistoryState()
                return .failed(error.message, request)
            }
        }
    }
}
