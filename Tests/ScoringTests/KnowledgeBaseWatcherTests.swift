import Foundation
import Logging
import TestSupport
import Testing

@testable import Scoring

@Suite("KnowledgeBaseWatcher")
struct KnowledgeBaseWatcherTests {
    /// A one-profile knowledge base whose only figure is `rate`, so versions are easy to tell apart.
    static func document(rate: String) -> String {
        """
        training:
          - nodeName: tvpc-gpu
            performanceRate: \(rate)
            powerConsumptionWatts: 226.72
            idlePowerWatts: 50.06
        """
    }

    static func rate(_ knowledgeBase: KnowledgeBase) -> Double? {
        knowledgeBase.profiles.first?.entries.first?.performanceRate
    }

    /// A fresh temporary directory, removed after `body`.
    static func withTemporaryDirectory(_ body: (URL) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kb-watch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await body(directory)
    }

    static func write(_ text: String, to url: URL, atomically: Bool) throws {
        if atomically {
            try Data(text.utf8).write(to: url, options: .atomic)  // new inode, like an editor's save
        } else {
            let handle = try FileHandle(forWritingTo: url)  // same inode, like `cat > file`
            defer { try? handle.close() }
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(text.utf8))
        }
    }

    @Test("edits load, a broken edit keeps the last good version, a repair loads again")
    func editBreakRestore() async throws {
        try await Self.withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("profiles.yaml")
            try Self.write(Self.document(rate: "1715.98"), to: file, atomically: true)
            let recorder = LogRecorder()
            let watcher = try KnowledgeBaseWatcher(path: file.path, logger: Logger(label: "test") { _ in recorder })
            #expect(Self.rate(watcher.current) == 1715.98)
            #expect(watcher.generation == 1)
            #expect(watcher.checkNow() == .unchanged)

            try Self.write(Self.document(rate: "1800"), to: file, atomically: true)
            #expect(watcher.checkNow() == .reloaded(generation: 2))
            #expect(Self.rate(watcher.current) == 1800)

            // In place, different length, so size and mtime change but not the inode.
            try Self.write(Self.document(rate: "1900.5"), to: file, atomically: false)
            #expect(watcher.checkNow() == .reloaded(generation: 3))
            #expect(Self.rate(watcher.current) == 1900.5)

            try Self.write(Self.document(rate: "-1"), to: file, atomically: true)
            let expected = KnowledgeBaseError(
                file: file.path,
                keyPath: "training[0].performanceRate",
                message: "negative (-1.0)"
            )
            #expect(watcher.checkNow() == .rejected(expected))
            #expect(Self.rate(watcher.current) == 1900.5)
            #expect(watcher.lastError == expected)
            #expect(watcher.checkNow() == .unchanged)  // reported once, not on every poll
            #expect(recorder.entries.filter { $0.level == .error }.count == 1)

            try FileManager.default.removeItem(at: file)
            guard case .rejected(let missing) = watcher.checkNow() else {
                Issue.record("a missing file must be rejected")
                return
            }
            #expect(missing.message.hasPrefix("cannot read"))
            #expect(Self.rate(watcher.current) == 1900.5)

            try Self.write(Self.document(rate: "2000"), to: file, atomically: true)
            #expect(watcher.checkNow() == .reloaded(generation: 4))
            #expect(Self.rate(watcher.current) == 2000)
            #expect(watcher.lastError == nil)

            // Same content under a new inode (a touch-and-save) is not a new version.
            try Self.write(Self.document(rate: "2000"), to: file, atomically: true)
            #expect(watcher.checkNow() == .unchanged)
            #expect(watcher.generation == 4)
        }
    }

    @Test("a ConfigMap volume update (atomic ..data symlink swap) is picked up")
    func configMapSymlinkSwap() async throws {
        try await Self.withTemporaryDirectory { directory in
            let manager = FileManager.default
            // The kubelet's layout: ..<timestamp>/profiles.yaml, ..data -> ..<timestamp>,
            // profiles.yaml -> ..data/profiles.yaml.
            func publish(_ text: String, version: String) throws {
                let versionDirectory = directory.appendingPathComponent("..\(version)")
                try manager.createDirectory(at: versionDirectory, withIntermediateDirectories: false)
                try Data(text.utf8).write(to: versionDirectory.appendingPathComponent("profiles.yaml"))
                let temporaryLink = directory.appendingPathComponent("..data_tmp").path
                try manager.createSymbolicLink(atPath: temporaryLink, withDestinationPath: "..\(version)")
                // rename(2) replaces ..data in one step, as the kubelet's atomic writer does.
                guard rename(temporaryLink, directory.appendingPathComponent("..data").path) == 0 else {
                    throw CocoaError(.fileWriteUnknown)
                }
            }
            try publish(Self.document(rate: "1"), version: "2026_02_01_10_00_00.1")
            let mounted = directory.appendingPathComponent("profiles.yaml")
            try manager.createSymbolicLink(atPath: mounted.path, withDestinationPath: "..data/profiles.yaml")

            let watcher = try KnowledgeBaseWatcher(path: mounted.path, logger: Logger(label: "test"))
            #expect(Self.rate(watcher.current) == 1)

            try publish(Self.document(rate: "2"), version: "2026_02_01_10_05_00.2")
            #expect(watcher.checkNow() == .reloaded(generation: 2))
            #expect(Self.rate(watcher.current) == 2)

            // The old version directory disappears after the swap, as the kubelet removes it.
            try manager.removeItem(at: directory.appendingPathComponent("..2026_02_01_10_00_00.1"))
            #expect(watcher.checkNow() == .unchanged)

            try publish("training: [", version: "2026_02_01_10_10_00.3")
            guard case .rejected(let error) = watcher.checkNow() else {
                Issue.record("invalid YAML must be rejected")
                return
            }
            #expect(error.description.hasPrefix("\(mounted.path): not valid YAML ("))
            #expect(Self.rate(watcher.current) == 2)
        }
    }

    @Test("run() polls until cancelled")
    func runLoop() async throws {
        try await Self.withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("profiles.yaml")
            try Self.write(Self.document(rate: "1"), to: file, atomically: true)
            let watcher = try KnowledgeBaseWatcher(
                path: file.path, pollInterval: .milliseconds(10), logger: Logger(label: "test"))
            let task = Task { await watcher.run() }
            try Self.write(Self.document(rate: "3"), to: file, atomically: true)
            // Bounded wait: the poller has up to 60 s to notice (it needs about 10 ms; a test
            // run that keeps both cores busy can starve it for a while).
            let deadline = ContinuousClock.now + .seconds(60)
            while Self.rate(watcher.current) != 3, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(Self.rate(watcher.current) == 3)
            task.cancel()
            await task.value  // returns once cancelled
        }
    }

    @Test("an unusable first version fails construction")
    func invalidInitialFile() async throws {
        try await Self.withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("profiles.yaml")
            try Self.write("training: []", to: file, atomically: true)
            #expect(throws: KnowledgeBaseError(file: file.path, keyPath: "training", message: "empty profile list")) {
                _ = try KnowledgeBaseWatcher(path: file.path, logger: Logger(label: "test"))
            }
        }
    }
}
