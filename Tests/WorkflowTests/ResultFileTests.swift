import Foundation
import TestSupport
import Testing

@testable import Workflow

/// Results files: the runner's columns, the thesis's two layouts, runs split out of rows,
/// appending, and refusals naming the file and line.
@Suite("Results files")
struct ResultFileTests {
    static let thesisResults = TestPaths.thesis.appendingPathComponent("thesis_results.csv").path
    static let baseline = TestPaths.thesis.appendingPathComponent("results_baseline.csv").path

    static func row(
        _ timestamp: String, _ phase: String, scheduler: SchedulerChoice = .energy, weight: Double = 0.5,
        joules: Double = 100
    )
        -> ResultRow
    {
        ResultRow(
            timestamp: timestamp, phase: phase, weight: weight, node: "tvpc", profile: "training", durationSeconds: 10,
            averageWatts: joules / 10, joules: joules, scheduler: scheduler, coveragePercent: 100,
            idleJoules: joules / 2)
    }

    @Test(
        "the thesis's thesis_results.csv: six energy-scheduler rows, two complete runs at weight 0.0",
        .enabled(
            if: TestPaths.thesisTestsEnabled,
            "../shared/thesis is absent: the thesis data is read in place, never copied")
    )
    func thesisResults() throws {
        let rows = try ResultFile.read(Self.thesisResults)
        #expect(rows.count == 6)
        #expect(rows.allSatisfy { $0.scheduler == .energy && $0.weight == 0 })
        #expect(
            rows[0]
                == ResultRow(
                    timestamp: "2026-01-21T21:25:01", phase: "preprocessing-job", weight: 0, node: "rpi",
                    profile: "rpi-cpu",
                    durationSeconds: 781, averageWatts: 2.88, joules: 2249.28, scheduler: .energy, coveragePercent: nil,
                    idleJoules: nil))
        let split = RecordedRun.split(rows, source: Self.thesisResults)
        #expect(split.phases == ["preprocessing", "train", "inference"])
        #expect(split.runs.count == 2 && split.runs.allSatisfy { $0.isComplete(phases: split.phases) })
        #expect(abs(split.runs[0].joules - (2249.28 + 23018.75 + 7445.77)) < 1e-6)
    }

    @Test(
        "the thesis's results_baseline.csv: per-phase timestamps; two aborted attempts and two complete runs",
        .enabled(
            if: TestPaths.thesisTestsEnabled,
            "../shared/thesis is absent: the thesis data is read in place, never copied")
    )
    func baseline() throws {
        let rows = try ResultFile.read(Self.baseline)
        #expect(rows.count == 8)
        #expect(rows.allSatisfy { $0.scheduler == .standard && $0.weight == nil && $0.profile == nil })
        let split = RecordedRun.split(rows, source: Self.baseline)
        #expect(split.runs.map(\.rows.count) == [1, 1, 3, 3])
        #expect(split.runs.filter { $0.isComplete(phases: split.phases) }.count == 2)
        #expect(split.runs[2].rows.map(\.node) == ["tvpc", "tvpc", "tvpc"])
    }

    @Test("our rows: written with the header once, read back the same; a run cut short opens no run of its own")
    func appendAndRead() throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("results.csv")
        let rows = [
            Self.row("2026-02-01T10:00:00", "preprocessing"), Self.row("2026-02-01T10:00:00", "train"),
            // Interrupted after its first phase:
            Self.row("2026-02-01T10:05:00", "preprocessing"),
            Self.row("2026-02-01T10:09:00", "preprocessing"), Self.row("2026-02-01T10:09:00", "train"),
            Self.row("2026-02-01T10:20:00", "preprocessing", scheduler: .standard),
            Self.row("2026-02-01T10:20:00", "train", scheduler: .standard),
        ]
        for row in rows { try ResultFile.append(row, to: path) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            text.hasPrefix(
                "Timestamp,Phase,Weight,Node,Profile,Duration,AvgWatts,Joules,Scheduler,Coverage,IdleJoules,Simulated,"
                    + "BackfilledJoules,AttributedJoules,Kwh,GramsCO2e,Cost,Currency\n"))
        #expect(text.components(separatedBy: "Timestamp,").count == 2)
        #expect(
            text.contains(
                "2026-02-01T10:00:00,preprocessing,0.5,tvpc,training,10,10.00,100.00,energy,100.0,50.00,,,,,,,\n")
        )
        let read = try ResultFile.read(path)
        #expect(read == rows)
        let split = RecordedRun.split(read, source: path)
        #expect(split.runs.map(\.rows.count) == [2, 1, 2, 2])
        #expect(
            WorkflowSweep.completed(in: read, phases: ["preprocessing", "train"]) == [
                .init(scheduler: .energy, weight: 0.5): 2, .init(scheduler: .standard, weight: 0.5): 1,
            ])
    }

    @Test("the attributed joules of a phase round-trip; a file from before the column takes rows without it")
    func attributedColumn() throws {
        let folder = try TemporaryDirectory()
        var row = Self.row("2026-02-01T10:00:00", "train")
        row.backfilledJoules = 12
        row.attributedJoules = 61.25
        let path = folder.path("new.csv")
        try ResultFile.append(row, to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasSuffix(",12.00,61.25,,,,\n"))
        #expect(try ResultFile.read(path) == [row])
        let older = try folder.write(ResultRow.headerWithoutAttributed.joined(separator: ",") + "\n", to: "older.csv")
        try ResultFile.append(row, to: older)
        var withoutColumn = row
        withoutColumn.attributedJoules = nil
        #expect(try ResultFile.read(older) == [withoutColumn])
    }

    @Test("the backfilled joules of a phase round-trip; a file from before the column takes rows without it")
    func backfilledColumn() throws {
        let folder = try TemporaryDirectory()
        var row = Self.row("2026-02-01T10:00:00", "train")
        row.backfilledJoules = 1234.5
        let path = folder.path("new.csv")
        try ResultFile.append(row, to: path)
        #expect(try ResultFile.read(path) == [row])
        let older = try folder.write(ResultRow.headerWithoutBackfilled.joined(separator: ",") + "\n", to: "older.csv")
        try ResultFile.append(row, to: older)
        let text = try String(contentsOfFile: older, encoding: .utf8)
        #expect(!text.contains("BackfilledJoules") && text.hasSuffix(",energy,100.0,50.00,\n"), "\(text)")
        var withoutColumn = row
        withoutColumn.backfilledJoules = nil
        #expect(try ResultFile.read(older) == [withoutColumn])
    }

    @Test("fields with commas and quotes survive")
    func quoting() throws {
        let row = ResultRow(
            timestamp: "t", phase: "a,\"b\"", weight: nil, node: "n", profile: nil, durationSeconds: 1,
            averageWatts: nil,
            joules: 0, scheduler: nil, coveragePercent: nil, idleJoules: nil)
        let folder = try TemporaryDirectory()
        try ResultFile.append(row, to: folder.path("q.csv"))
        #expect(try ResultFile.read(folder.path("q.csv")).first?.phase == "a,\"b\"")
    }

    @Test(
        "bad files are refused with file and line",
        arguments: [
            ("Phase,Node\nx,y\n", "r.csv: line 1: no Timestamp column"),
            ("Timestamp,Phase,Node,Duration,Joules\nt,p,n,10\n", "r.csv: line 2: 4 fields, the header has 5"),
            ("Timestamp,Phase,Node,Duration,Joules\nt,p,n,ten,1\n", "r.csv: line 2: Duration \"ten\" is not a number"),
            ("Timestamp,Phase,Node,Duration,Joules\nt,p,n,1,nan\n", "r.csv: line 2: Joules \"nan\" is not a number"),
            ("Timestamp,Phase,Node,Duration,Joules\nt,p,n,1,\n", "r.csv: line 2: Joules is empty"),
            (
                "Timestamp,Phase,Node,Duration,Joules,Scheduler\nt,p,n,1,2,kube\n",
                "Scheduler \"kube\" is neither energy nor standard"
            ),
            ("Timestamp,Phase,Node,Duration,Joules,Weight\nt,p,n,1,2,7\n", "Weight 7.0 is outside 0...1"),
            ("Timestamp,Phase,Node,Duration,Joules\n,p,n,1,2\n", "Timestamp, Phase and Node must not be empty"),
        ]
    )
    func refused(text: String, message: String) {
        #expect {
            _ = try ResultFile.parse(text, file: "r.csv")
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("appending to another layout's file is refused; a missing folder too")
    func appendRefused() throws {
        let folder = try TemporaryDirectory()
        let foreign = try folder.write("Timestamp,Phase,Scheduler,Node,Duration,AvgWatts,Joules\n", to: "baseline.csv")
        #expect(throws: ResultFile.Failure.self) { try ResultFile.append(Self.row("t", "p"), to: foreign) }
        #expect(throws: ResultFile.Failure.self) { try ResultFile.checkAppendable("/nonexistent-folder/x.csv") }
        try ResultFile.checkAppendable(folder.path("new.csv"))
    }
}
