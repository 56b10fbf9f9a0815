import EnergyModel
import Foundation
import JSON

#if canImport(Glibc)
    import Glibc
#endif

/// What an exec plugin handed over: a bearer token and/or a client certificate, and until
/// when they hold.
struct ExecCredential: Sendable, Equatable {
    var token: String?
    var clientCertificatePEM: [UInt8]?
    var clientKeyPEM: [UInt8]?
    /// `status.expirationTimestamp` in unix milliseconds; nil: until the server refuses it.
    var expiresMilliseconds: Int64?
}

extension ExecCredentialPlugin {
    /// Runs the plugin once and reads its `ExecCredential`. Every failure is one line naming
    /// the command and what to do: not installed (with `installHint`), a non-zero exit (with
    /// the last line it wrote to standard error), no answer within `timeout`, or output
    /// that is not what the configured `apiVersion` promises.
    func fetch(stdinIsTerminal: Bool = isatty(0) == 1) async throws(KubernetesRequestError) -> ExecCredential {
        let interactive: Bool
        switch interactiveMode {
        case .never: interactive = false
        case .ifAvailable: interactive = stdinIsTerminal
        case .always:
            guard stdinIsTerminal else {
                throw failure("needs a terminal (interactiveMode: Always) and standard input is not one")
            }
            interactive = true
        }
        var environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        environment += self.environment.map { "\($0.name)=\($0.value)" }
        environment.append("KUBERNETES_EXEC_INFO=\(execInfo(interactive: interactive))")
        let process = BoundedProcess(
            executable: command, arguments: arguments, environment: environment, interactive: interactive,
            timeout: timeout)
        let result: BoundedProcess.Result
        do {
            result = try await process.run()
        } catch {
            switch error {
            case .notFound:
                let hint = installHint.map { ": \($0.foldedToOneLine())" } ?? ""
                throw failure("executable not found (is it installed and on PATH?)\(hint)")
            case .failed(let reason):
                throw failure("cannot start: \(reason)")
            }
        }
        switch result.outcome {
        case .timedOut:
            throw failure(
                "did not finish within \(timeout.components.seconds) s and was stopped; run it by hand to see what it waits for")
        case .signalled(let signal):
            throw failure("ended by signal \(signal)\(Self.lastLine(result.stderrTail))")
        case .exited(let status) where status != 0:
            throw failure("failed with exit code \(status)\(Self.lastLine(result.stderrTail))")
        case .exited:
            break
        }
        guard !result.outputTruncated else { throw failure("wrote more than \(1 << 20) bytes to standard output") }
        return try read(output: result.stdout)
    }

    /// Reads the plugin's standard output as client-go does.
    func read(output: [UInt8]) throws(KubernetesRequestError) -> ExecCredential {
        guard let document = JSONValue.parse(output), document.object != nil else {
            throw failure("did not write an ExecCredential (JSON) to standard output")
        }
        guard document["apiVersion"]?.string == apiVersion else {
            throw failure(
                "answered with apiVersion \"\(document["apiVersion"]?.string ?? "")\" where the kubeconfig asks for \(apiVersion)")
        }
        guard document["kind"]?.string == "ExecCredential" else {
            throw failure("answered with kind \"\(document["kind"]?.string ?? "")\", not ExecCredential")
        }
        guard let status = document["status"], status.object != nil else {
            throw failure("did not return a status field")
        }
        let token = status["token"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        let certificate = status["clientCertificateData"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        let key = status["clientKeyData"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        guard token != nil || certificate != nil || key != nil else {
            throw failure("did not return a token or a client certificate and key")
        }
        guard (certificate == nil) == (key == nil) else {
            throw failure("returned only a client certificate or only a key, not both")
        }
        var expires: Int64?
        if let text = status["expirationTimestamp"]?.string, !text.isEmpty {
            do {
                expires = try TimeParsing.milliseconds(text, nowMilliseconds: WallClock.nowMilliseconds())
            } catch {
                throw failure("returned an expirationTimestamp that is not a time: \"\(text.prefix(40))\"")
            }
        }
        return ExecCredential(
            token: token, clientCertificatePEM: certificate.map { Array($0.utf8) }, clientKeyPEM: key.map { Array($0.utf8) },
            expiresMilliseconds: expires)
    }

    private func failure(_ message: String) -> KubernetesRequestError {
        KubernetesRequestError(failure: .credentials("exec plugin \(command): \(message)"))
    }

    /// `: LAST LINE` of what the plugin wrote to standard error, or nothing.
    private static func lastLine(_ bytes: [UInt8]) -> String {
        let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let last = lines.last else { return "" }
        return ": " + String(last.prefix(300)).foldedToOneLine()
    }
}
