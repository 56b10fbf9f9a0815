import Foundation
import TestSupport
import Testing

/// Package.swift declares exactly what each target imports: a module imported but not
/// declared builds only while some other dependency happens to bring it along, and a declared
/// one imported nowhere links for nothing. The manifest is read as SwiftPM reads it
/// (`swift package dump-package`), the imports from every Swift file of each target.
///
/// Product and module names agree in every package this one uses (`Logging`, `NIOCore`,
/// `Yams`, ...), so a dependency's name is the module it provides.
@Suite("Package imports")
struct PackageImportsTests {
    /// Modules of the toolchain and the platform, never declared.
    static let systemModules: Set<String> = [
        "Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Musl", "Darwin", "Android", "WinSDK",
        "Synchronization", "Dispatch", "Testing", "XCTest", "Swift", "_Concurrency", "os",
    ]

    /// The modules the Swift source `text` imports: X of `import X`, `@testable import X`,
    /// `public import X`, `import struct X.Y`. Lines inside multi-line string literals are
    /// text, not imports.
    static func imports(in text: String) throws -> Set<String> {
        let pattern = try NSRegularExpression(
            pattern: #"^\s*(?:@\w+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+"#
                + #"(?:(?:struct|class|enum|protocol|typealias|func|let|var)\s+)?([A-Za-z_][A-Za-z0-9_]*)"#)
        let delimiter = String(repeating: "\"", count: 3)
        var modules: Set<String> = []
        var inLiteral = false
        for line in text.components(separatedBy: "\n") {
            if line.components(separatedBy: delimiter).count % 2 == 0 {
                inLiteral.toggle()
                continue
            }
            guard !inLiteral else { continue }
            let range = NSRange(line.startIndex..., in: line)
            if let match = pattern.firstMatch(in: line, range: range), let name = Range(match.range(at: 1), in: line) {
                modules.insert(String(line[name]))
            }
        }
        return modules
    }

    /// One target of the manifest: where its files are and what it depends on.
    struct Target {
        var name: String
        var folder: URL
        var excluded: [String]
        var dependencies: Set<String>
    }

    /// The targets of Package.swift, as `swift package dump-package` reads them (system
    /// library targets have no Swift files and are left out).
    static func targets() async throws -> [Target] {
        let bundled = "/opt/swift/usr/bin/swift"
        let swift = try #require(
            Tools.find("swift") ?? (FileManager.default.isExecutableFile(atPath: bundled) ? bundled : nil),
            "swift not found: source scripts/env.sh")
        // A scratch folder of its own, so that this never waits for the build folder's lock.
        let scratch = try TemporaryDirectory("dump-package")
        let result = try await runProcess(
            swift,
            ["package", "--package-path", TestPaths.packageRoot.path, "--scratch-path", scratch.path, "dump-package"],
            timeout: .seconds(120))
        try #require(result.status == 0, "dump-package: \(result.stderr)")
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "dump-package: not JSON"
        )
        let entries = try #require(manifest["targets"] as? [[String: Any]], "dump-package: no targets")
        var targets: [Target] = []
        for entry in entries {
            let name = try #require(entry["name"] as? String)
            let type = entry["type"] as? String ?? ""
            guard type != "system" else { continue }
            let path = entry["path"] as? String ?? ((type == "test" ? "Tests/" : "Sources/") + name)
            // Each dependency is {"byName"|"target"|"product": [name, ...]}.
            let dependencies = (entry["dependencies"] as? [[String: Any]] ?? []).compactMap { dependency in
                (dependency.values.first as? [Any])?.first as? String
            }
            targets.append(
                Target(
                    name: name, folder: TestPaths.packageRoot.appendingPathComponent(path),
                    excluded: entry["exclude"] as? [String] ?? [], dependencies: Set(dependencies)))
        }
        return targets
    }

    /// Every module the Swift files of `target` import, with a file that imports it.
    static func imports(of target: Target) throws -> [String: String] {
        var modules: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: target.folder.path)
        while let relative = enumerator?.nextObject() as? String {
            guard relative.hasSuffix(".swift"),
                !target.excluded.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") })
            else { continue }
            let text = try String(contentsOf: target.folder.appendingPathComponent(relative), encoding: .utf8)
            for module in try imports(in: text) where modules[module] == nil { modules[module] = relative }
        }
        return modules
    }

    /// Modules a package builds for its product but does not declare as a product of their
    /// own, importable by a target that declares that product: Yams' libyaml (`CYaml`), whose
    /// parser events the strict YAML reader reads before any alias is expanded.
    static let reachedThrough: [String: String] = ["CYaml": "Yams"]

    @Test(
        "the import forms are read: plain, @testable, access-levelled, of one declaration, inside #if; not in a literal"
    )
    func importForms() throws {
        let text = [
            "import Foundation",
            "@testable import Exporter",
            "public import Store",
            "import struct EnergyModel.Sample",
            "  #if canImport(Glibc)",
            "  import Glibc",
            "  #endif",
            "// import Commented",
            #"let note = "no import Here""#,
            "importance()",
            #"let source = \#u{22}\#u{22}\#u{22}"#,
            "    import InsideALiteral",
            #"    \#u{22}\#u{22}\#u{22}"#,
        ].joined(separator: "\n")
        #expect(try Self.imports(in: text) == ["Foundation", "Exporter", "Store", "EnergyModel", "Glibc"])
    }

    @Test("every target declares what it imports and imports what it declares")
    func declaredImports() async throws {
        let targets = try await Self.targets()
        #expect(targets.contains { $0.name == "energy-monitor" } && targets.contains { $0.name == "IntegrationTests" })
        for target in targets {
            let imported = try await onOwnThread { try Self.imports(of: target) }
            for (module, file) in imported.sorted(by: { $0.key < $1.key })
            where !Self.systemModules.contains(module) && !target.dependencies.contains(module)
                && !(Self.reachedThrough[module].map(target.dependencies.contains) ?? false)
            {
                Issue.record("\(target.name) imports \(module) (\(file)) without declaring it in Package.swift")
            }
            for module in target.dependencies.sorted() where imported[module] == nil {
                Issue.record("\(target.name) declares \(module) in Package.swift and imports it nowhere")
            }
        }
    }
}
