import EnergyModel
import Foundation
import Logging
import ShellyPoller
import Synchronization
import TestSupport
import Testing

@testable import MonitorService

/// The start-up pages handed back once the service runs: which mappings are advised, and that
/// it happens once, at its tick, with one line.
@Suite("Start-up pages")
struct StartupPagesTests {
    @Test("only read-only private mappings of real files are advised")
    func mappings() {
        let maps = """
            55d0a0000000-55d0a1000000 r--p 00000000 fe:00 1234                       /usr/bin/energy-monitor
            55d0a1000000-55d0a3000000 r-xp 01000000 fe:00 1234                       /usr/bin/energy-monitor
            55d0a3000000-55d0a3100000 rw-p 03000000 fe:00 1234                       /usr/bin/energy-monitor
            55d0a4000000-55d0a4200000 rw-p 00000000 00:00 0                          [heap]
            7f0000000000-7f0000100000 rw-p 00000000 00:00 0
            7f0000200000-7f0000300000 r-xp 00000000 fe:00 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
            7f0000400000-7f0000401000 r--s 00000000 00:05 4242                       /SYSV00000000 (deleted)
            7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
            7f0000500000-7f0000400000 r--p 00000000 fe:00 99                         /backwards
            garbage line
            """
        let ranges = StartupPages.readOnlyFileMappings(maps)
        #expect(
            ranges == [
                0x55d0_a000_0000..<0x55d0_a100_0000, 0x55d0_a100_0000..<0x55d0_a300_0000,
                0x7f00_0020_0000..<0x7f00_0030_0000,
            ])
    }

    @Test("released once, at its tick, with one log line")
    func once() async {
        let log = LogRecorder()
        // Not this test process's own pages: every test running beside it would fault its code
        // back in at once. The release itself is tested through the service's binary.
        let released = Mutex(0)
        let consumer = StartupPageRelease(afterTicks: 3, logger: Logger(label: "test") { _ in log }) {
            released.withLock { $0 += 1 }
            return StartupPages.Release(
                mappings: 7, residentFileBytesBefore: 40 << 20, residentFileBytesAfter: 17 << 20)
        }
        let report = TickReport(tickMilliseconds: 0, startLatencyMilliseconds: 0, skippedTicks: 0, outcomes: [])
        let tick = Tick(report: report, samples: [], failures: [:], counters: [:])
        for _ in 0..<2 { await consumer.consume(tick) }
        #expect(log.entries.isEmpty && released.withLock { $0 } == 0)
        for _ in 0..<5 { await consumer.consume(tick) }
        #expect(released.withLock { $0 } == 1)
        let lines = log.entries.filter { $0.message == "released the pages of start-up code" }
        #expect(lines.count == 1)
        #expect(lines.first?.metadata["mappings"] == "7", "\(lines)")
        #expect(
            lines.first?.metadata["fileBackedMiBBefore"] == "40.0"
                && lines.first?.metadata["fileBackedMiBAfter"] == "17.0")
    }
}
