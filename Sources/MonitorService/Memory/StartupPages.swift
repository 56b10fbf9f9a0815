import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Hands back the pages of code and read-only data the service touched only while starting
/// (configuration parsing, YAML, the runtime's and libraries' initialisation): once the first
/// minute is behind, each read-only file mapping of the process (the executable and its
/// libraries) is advised `MADV_PAGEOUT`. The kernel drops the clean pages no other process
/// maps; what the service goes on running faults back in from the page cache, once. On a
/// kernel that caches files in large folios, a touched page otherwise keeps its whole folio
/// resident: most of the executable's text.
///
/// Writable mappings (heap, stacks, relocated data) are never advised: that would be swapping,
/// not releasing.
public enum StartupPages {
    /// What one release did.
    public struct Release: Sendable, Equatable {
        /// Read-only file mappings advised.
        public var mappings: Int
        /// Resident file-backed memory before, bytes (`RssFile` of `/proc/self/status`; nil
        /// where it cannot be read).
        public var residentFileBytesBefore: Int?
        /// The same, after.
        public var residentFileBytesAfter: Int?

        /// A release's figures.
        public init(mappings: Int, residentFileBytesBefore: Int?, residentFileBytesAfter: Int?) {
            self.mappings = mappings
            self.residentFileBytesBefore = residentFileBytesBefore
            self.residentFileBytesAfter = residentFileBytesAfter
        }
    }

    /// `MADV_PAGEOUT` (Linux 5.4 and later; Glibc's headers may not name it).
    static let pageOut: Int32 = 21

    /// Advises every read-only file mapping of this process `MADV_PAGEOUT`. A kernel without
    /// it answers `EINVAL` for each, and nothing changes.
    public static func release() -> Release {
        let before = residentFileBytes()
        var advised = 0
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else {
            return Release(mappings: 0, residentFileBytesBefore: before, residentFileBytesAfter: before)
        }
        for mapping in readOnlyFileMappings(maps) {
            guard let start = UnsafeMutableRawPointer(bitPattern: mapping.lowerBound),
                let length = Int(exactly: mapping.upperBound - mapping.lowerBound)
            else { continue }
            if madvise(start, length, pageOut) == 0 { advised += 1 }
        }
        return Release(mappings: advised, residentFileBytesBefore: before, residentFileBytesAfter: residentFileBytes())
    }

    /// The address ranges of the read-only private file mappings in `/proc/<pid>/maps` text: no
    /// `w` permission, not shared (a shared one may be memory another process writes), a real
    /// file (not an anonymous mapping, not `[vdso]`).
    static func readOnlyFileMappings(_ maps: String) -> [Range<UInt>] {
        var ranges: [Range<UInt>] = []
        for line in maps.split(separator: "\n") {
            // address perms offset dev inode [path]
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1].count == 4, !fields[1].contains("w"), fields[1].hasSuffix("p"),
                fields[4] != "0",
                fields[5].drop(while: { $0 == " " }).hasPrefix("/")
            else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let low = UInt(bounds[0], radix: 16), let high = UInt(bounds[1], radix: 16),
                low < high
            else { continue }
            ranges.append(low..<high)
        }
        return ranges
    }

    /// `RssFile` of this process, bytes.
    static func residentFileBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("RssFile:") {
            let digits = line.dropFirst("RssFile:".count).trimmingCharacters(in: .whitespaces).prefix { $0.isNumber }
            guard let kibibytes = Int(digits), kibibytes <= Int.max / 1024 else { return nil }
            return kibibytes * 1024
        }
        return nil
    }
}
