#if canImport(Glibc)
import Glibc
#endif
import EnergyModel
import Foundation

/// The standard `process_*` metrics of Prometheus client libraries, read from `/proc/self`.
public enum ProcessMetrics {
    /// Exposition text for resident memory, CPU seconds, start time, open and maximum fds.
    public static func render() -> String {
        var text = ""
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return text }
        // Fields after the command name, which may itself contain spaces and parentheses.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        // fields[0] is field 3 (state): utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
        if fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]),
            let start = Double(fields[19]), let virtualBytes = Double(fields[20]), let rssPages = Double(fields[21])
        {
            text += metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", (user + system) / ticks)
            text += metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rssPages * pageSize)
            text += metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtualBytes)
            if let boot = bootTime() {
                text += metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", boot + start / ticks)
            }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            text += metric("process_open_fds", "gauge", "Number of open file descriptors.", Double(descriptors.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            text += metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", Double(limit.rlim_cur))
        }
        return text
    }

    private static func metric(_ name: String, _ type: String, _ help: String, _ value: Double) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(format(value))\n"
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(clampingRounding: value)) }
        return String(value)
    }

    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
