import Foundation
import Testing
import TestSupport

/// The container image builds and runs on the bases `Dockerfile.monitor` names: every libcurl
/// symbol the code compiles against must exist in the libcurl of both its build and its
/// runtime base. The introduction versions come from curl's own `symbols-in-versions` table
/// (Debian's libcurl4-doc ships it as libcurl-symbols(3)) and, for functions, from their man
/// pages' AVAILABILITY section.
@Suite("Image bases")
struct ImageBaseTests {
    /// A dotted version, compared part by part (`7.9.6` < `7.81.0`).
    struct Version: Comparable, CustomStringConvertible {
        let parts: [Int]

        init?(_ text: some StringProtocol) {
            let parts = text.split(separator: ".").map { Int($0) }
            guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
            self.parts = parts.compactMap { $0 }
        }

        /// `LIBCURL_VERSION_NUM`'s form: 0xXXYYZZ.
        init(libcurlNumber value: Int) {
            parts = [value >> 16, (value >> 8) & 0xFF, value & 0xFF]
        }

        static func < (lhs: Version, rhs: Version) -> Bool {
            for index in 0..<max(lhs.parts.count, rhs.parts.count) {
                let (a, b) = (index < lhs.parts.count ? lhs.parts[index] : 0, index < rhs.parts.count ? rhs.parts[index] : 0)
                if a != b { return a < b }
            }
            return false
        }

        static func == (lhs: Version, rhs: Version) -> Bool { !(lhs < rhs) && !(rhs < lhs) }

        var description: String { parts.map(String.init).joined(separator: ".") }
    }

    /// The libcurl of each base image the Dockerfile may name, as its distribution ships it.
    /// A base not listed here fails the test: add it with its libcurl version.
    static let libcurlOfBase: [(names: [String], libcurl: String)] = [
        (["jammy", "ubuntu:22.04"], "7.81.0"),
        (["noble", "ubuntu:24.04"], "8.5.0"),
        (["bookworm", "debian:12"], "7.88.1"),
    ]

    static func libcurl(ofBase image: String) -> Version? {
        libcurlOfBase.first { $0.names.contains { image.contains($0) } }.flatMap { Version($0.libcurl) }
    }

    /// The images of the Dockerfile's first (build) and last (runtime) stage, with `ARG`
    /// defaults substituted.
    static func baseImages(of dockerfile: String) -> (build: String, runtime: String)? {
        var arguments: [String: String] = [:]
        var stages: [String] = []
        for line in dockerfile.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard words.count >= 2 else { continue }
            if words[0] == "ARG", let equals = words[1].firstIndex(of: "=") {
                arguments[String(words[1][..<equals])] = String(words[1][words[1].index(after: equals)...])
            } else if words[0] == "FROM" {
                var image = words[1].hasPrefix("--platform") && words.count > 2 ? words[2] : words[1]
                for (name, value) in arguments {
                    image = image.replacingOccurrences(of: "${\(name)}", with: value).replacingOccurrences(of: "$\(name)", with: value)
                }
                stages.append(image)
            }
        }
        guard let build = stages.first, let runtime = stages.last else { return nil }
        return (build, runtime)
    }

    /// What curl documents about its symbols: when each came, and when the removed ones went.
    struct LibcurlDocumentation {
        static let manualPages = "/usr/share/man/man3"
        var introduced: [String: Version] = [:]
        var lastUsed: [String: Version] = [:]
        let gzip: String

        /// libcurl-symbols(3): `.IP NAME`, then `Introduced in X`, maybe `Last used in Y`.
        init(gzip: String) async throws {
            self.gzip = gzip
            let table = try await Self.read("libcurl-symbols", gzip: gzip)
            var name: String?
            for line in table.split(separator: "\n") {
                if line.hasPrefix(".IP ") {
                    name = String(line.dropFirst(4)).trimmingCharacters(in: .whitespaces)
                } else if let name, line.hasPrefix("Introduced in "), let version = Version(line.dropFirst(14).trimmingCharacters(in: .whitespaces)) {
                    introduced[name] = version
                } else if let name, line.hasPrefix("Last used in "), let version = Version(line.dropFirst(13).trimmingCharacters(in: .whitespaces)) {
                    lastUsed[name] = version
                }
            }
        }

        static func read(_ page: String, gzip: String) async throws -> String {
            let result = try await runProcess(gzip, ["-dc", "\(manualPages)/\(page).3.gz"])
            guard result.status == 0 else { throw TestSupportError("\(page)(3): \(result.stderr)") }
            return result.stdout
        }

        /// When `symbol` came: from the table, or its man page, or (a type) with the symbol
        /// it came with.
        func introduction(of symbol: String) async -> Version? {
            let documented = ImageBaseTests.typeCameWith[symbol] ?? symbol
            if let version = introduced[documented] { return version }
            return await functionIntroduced(documented)
        }

        /// A function's first version from its man page ("Added in 7.66.0", "This function was
        /// added in libcurl 7.12.1", "Always": since the first libcurl, 7.1).
        func functionIntroduced(_ name: String) async -> Version? {
            guard let page = try? await Self.read(name, gzip: gzip),
                let start = page.range(of: ".SH AVAILABILITY")
            else { return nil }
            let section = page[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
                .prefix { !$0.hasPrefix(".SH") }.joined(separator: " ")
            if let match = section.firstMatch(of: /(\d+)\.(\d+)(\.\d+)?/) { return Version(match.output.0) }
            return section.contains("Always") ? Version("7.1") : nil
        }
    }

    /// Types are in neither table; each is given the version of a symbol that came with it.
    static let typeCameWith = [
        "CURL": "curl_easy_init", "CURLcode": "CURLE_OK", "CURLoption": "CURLOPT_URL", "CURLINFO": "curl_easy_getinfo",
        "CURLM": "curl_multi_init", "CURLMcode": "CURLM_OK", "CURLMsg": "CURLMSG_DONE", "CURLMoption": "curl_multi_setopt",
        "curl_slist": "curl_slist_append", "curl_off_t": "CURLOPT_POSTFIELDSIZE_LARGE", "curl_socket_t": "CURL_SOCKET_BAD",
        "curlsocktype": "CURLSOCKTYPE_IPCXN", "curl_blob": "CURL_BLOB_COPY",
    ]

    /// The libcurl identifiers `source` uses: comments and string literals left out and, in C,
    /// only the branch of each `#if LIBCURL_VERSION_NUM >= 0x…` that headers of `libcurl` compile.
    static func libcurlSymbols(in source: String, isC: Bool, libcurl: Version) throws -> Set<String> {
        var text = source
        if isC {
            // Each entry: whether its branch is compiled (nil: unknown condition, both are read).
            var conditions: [Bool?] = []
            var kept: [Substring] = []
            for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
                let directive = line.trimmingCharacters(in: .whitespaces)
                if directive.hasPrefix("#if") {
                    if directive.contains("LIBCURL_VERSION_NUM") {
                        guard let match = directive.firstMatch(of: /^#if\s+LIBCURL_VERSION_NUM\s*>=\s*0x([0-9A-Fa-f]{6})\s*$/),
                            let number = Int(match.output.1, radix: 16)
                        else { throw TestSupportError("only `#if LIBCURL_VERSION_NUM >= 0xXXYYZZ` is understood: \(directive)") }
                        conditions.append(libcurl >= Version(libcurlNumber: number))
                    } else {
                        conditions.append(nil)
                    }
                    continue
                }
                if directive.hasPrefix("#elif") {
                    guard conditions.last.map({ $0 == nil }) == true else { throw TestSupportError("#elif after a version test: \(directive)") }
                    continue
                }
                if directive.hasPrefix("#else") {
                    if let last = conditions.popLast() { conditions.append(last.map { !$0 }) }
                    continue
                }
                if directive.hasPrefix("#endif") {
                    _ = conditions.popLast()
                    continue
                }
                if conditions.allSatisfy({ $0 != false }) { kept.append(line) }
            }
            text = kept.joined(separator: "\n")
        }
        let code = withoutCommentsAndStrings(text)
        return Set(code.matches(of: /\b(?:CURL[A-Za-z0-9_]*|curl_[a-z0-9_]+)\b/).map { String($0.output) })
    }

    /// `text` with `//` and `/* */` comments and `"…"`, `"""…"""` and `#"…"#` literals blanked.
    static func withoutCommentsAndStrings(_ text: String) -> String {
        let characters = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        func starts(_ token: String, at position: Int) -> Bool {
            let scalars = Array(token.unicodeScalars)
            return position + scalars.count <= characters.count && Array(characters[position..<position + scalars.count]) == scalars
        }
        func skip(until end: String, escapes: Bool) {
            while index < characters.count, !starts(end, at: index) {
                index += (escapes && characters[index] == "\\") ? 2 : 1
            }
            index = min(characters.count, index + end.unicodeScalars.count)
            output.append(" ")
        }
        while index < characters.count {
            if starts("//", at: index) {
                skip(until: "\n", escapes: false)
                output.append("\n")
            } else if starts("/*", at: index) {
                index += 2
                skip(until: "*/", escapes: false)
            } else if starts("\"\"\"", at: index) {
                index += 3
                skip(until: "\"\"\"", escapes: true)
            } else if starts("#\"", at: index) {
                index += 2
                skip(until: "\"#", escapes: false)
            } else if characters[index] == "\"" {
                index += 1
                skip(until: "\"", escapes: true)
            } else {
                output.append(characters[index])
                index += 1
            }
        }
        return String(output)
    }

    /// The sources that can name libcurl symbols: the C shim and every Swift file that imports it.
    static func libcurlSources() throws -> [(path: String, text: String, isC: Bool)] {
        let sources = TestPaths.packageRoot.appendingPathComponent("Sources")
        var found: [(String, String, Bool)] = []
        let walker = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            let relative = String(url.path.dropFirst(TestPaths.packageRoot.path.count + 1))
            if url.pathExtension == "h", relative.hasPrefix("Sources/CCurl/") {
                found.append((relative, try String(contentsOf: url, encoding: .utf8), true))
            } else if url.pathExtension == "swift" {
                let text = try String(contentsOf: url, encoding: .utf8)
                if text.contains("import CCurl") { found.append((relative, text, false)) }
            }
        }
        return found.sorted { $0.0 < $1.0 }
    }

    /// Every symbol newer than `libcurl` (or undocumented), with the file it is in.
    static func violations(
        _ sources: [(path: String, text: String, isC: Bool)], libcurl: Version, base: String,
        documentation: LibcurlDocumentation
    ) async throws -> [String] {
        var problems: [String] = []
        for source in sources {
            for symbol in try libcurlSymbols(in: source.text, isC: source.isC, libcurl: libcurl).sorted() {
                guard let version = await documentation.introduction(of: symbol) else {
                    problems.append("\(source.path): \(symbol) is not in libcurl-symbols(3) and has no man page of its own")
                    continue
                }
                if version > libcurl {
                    problems.append("\(source.path): \(symbol) needs libcurl \(version); \(base) has \(libcurl)")
                }
                if let last = documentation.lastUsed[symbol], last < libcurl {
                    problems.append("\(source.path): \(symbol) was last in libcurl \(last); \(base) has \(libcurl)")
                }
            }
        }
        return problems
    }

    static func documentation() async throws -> LibcurlDocumentation {
        let gzip = try #require(Tools.find("gzip"), "gzip not found")
        let missing: Comment = """
            libcurl-symbols(3) is missing: run bash scripts/setup.sh --test (it installs libcurl4-doc; \
            a dpkg path-exclude of /usr/share/man in /etc/dpkg/dpkg.cfg.d would drop it)
            """
        try #require(FileManager.default.fileExists(atPath: LibcurlDocumentation.manualPages + "/libcurl-symbols.3.gz"), missing)
        return try await LibcurlDocumentation(gzip: gzip)
    }

    @Test("every libcurl symbol the code uses exists in the libcurl of Dockerfile.monitor's build and runtime bases")
    func libcurlOfBases() async throws {
        let dockerfile = try String(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("Dockerfile.monitor"), encoding: .utf8)
        let bases = try #require(Self.baseImages(of: dockerfile), "no FROM in Dockerfile.monitor")
        let build = try #require(Self.libcurl(ofBase: bases.build), "unknown build base \(bases.build): add it to libcurlOfBase")
        let runtime = try #require(
            Self.libcurl(ofBase: bases.runtime), "unknown runtime base \(bases.runtime): add it to libcurlOfBase")
        // The build's headers choose the options (the shim's version tests); the runtime's
        // library must know them all.
        #expect(runtime >= build, "\(bases.runtime) has libcurl \(runtime), older than the build's \(build) (\(bases.build))")
        let documentation = try await Self.documentation()
        let sources = try Self.libcurlSources()
        #expect(sources.contains { $0.isC } && sources.contains { !$0.isC }, "\(sources.map(\.path))")
        let problems = try await Self.violations(
            sources, libcurl: min(build, runtime), base: "\(bases.build) / \(bases.runtime)", documentation: documentation)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        // The newest symbol compiled on these bases: the least libcurl the image needs (README).
        var newest: (symbol: String, version: Version)?
        for source in sources {
            for symbol in try Self.libcurlSymbols(in: source.text, isC: source.isC, libcurl: min(build, runtime)) {
                if let version = await documentation.introduction(of: symbol), version > (newest?.version ?? Version(libcurlNumber: 0)) {
                    newest = (symbol, version)
                }
            }
        }
        print("image bases: \(bases.build) (libcurl \(build)), \(bases.runtime) (libcurl \(runtime)); "
            + "\(sources.count) files checked; newest symbol used: \(newest.map { "\($0.symbol) (\($0.version))" } ?? "none")")
    }

    @Test("the check finds a symbol newer than the base, and follows the shim's version tests")
    func checkerFindsNewSymbols() async throws {
        let documentation = try await Self.documentation()
        let jammy = try #require(Version("7.81.0"))
        let noble = try #require(Version("8.5.0"))
        let unguarded = [(path: "new.h", text: "static int f(CURL *h) { return curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, \"http\"); }", isC: true)]
        let found = try await Self.violations(unguarded, libcurl: jammy, base: "ubuntu:22.04", documentation: documentation)
        #expect(found == ["new.h: CURLOPT_PROTOCOLS_STR needs libcurl 7.85.0; ubuntu:22.04 has 7.81.0"], "\(found)")
        // The real shim: the old option on 7.81 headers, the new one on 8.5 headers.
        let shim = try String(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("Sources/CCurl/shim.h"), encoding: .utf8)
        let old = try Self.libcurlSymbols(in: shim, isC: true, libcurl: jammy)
        let new = try Self.libcurlSymbols(in: shim, isC: true, libcurl: noble)
        #expect(old.contains("CURLOPT_PROTOCOLS") && !old.contains("CURLOPT_PROTOCOLS_STR"))
        #expect(new.contains("CURLOPT_PROTOCOLS_STR") && !new.contains("CURLOPT_PROTOCOLS"))
        // Comments and strings do not count; Swift files are read too.
        let swift = "// CURLOPT_PROTOCOLS_STR in a comment\nlet s = \"CURLOPT_XOAUTH2_BEARER\"\nccurl_easy_init(); curl_easy_init()"
        #expect(try Self.libcurlSymbols(in: swift, isC: false, libcurl: jammy) == ["curl_easy_init"])
    }
}
