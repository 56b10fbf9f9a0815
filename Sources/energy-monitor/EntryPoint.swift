import ArgumentParser
import Foundation

/// Parses the command line and runs the command. Every failure ends with exactly one line
/// on standard error and a non-zero exit status, never a stack trace.
@main
enum EntryPoint {
    static func main() async {
        ResourceLimits.limitMallocArenas()
        let command: any ParsableCommand
        do {
            command = try EnergyMonitorCommand.parseAsRoot()
        } catch {
            exitAfterParse(error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch let error as ValidationError {
            failWithOneLine(EnergyMonitorCommand.message(for: error), code: EnergyMonitorCommand.exitCode(for: error).rawValue)
        } catch {
            // Help and other clean exits raised while running go through ArgumentParser.
            if EnergyMonitorCommand.exitCode(for: error) == .success {
                EnergyMonitorCommand.exit(withError: error)
            }
            failWithOneLine(String(describing: error))
        }
        exit(0)
    }

    /// Help and version go through ArgumentParser as usual; parse errors become one line.
    private static func exitAfterParse(_ error: any Error) -> Never {
        let code = EnergyMonitorCommand.exitCode(for: error)
        if code == .success {
            EnergyMonitorCommand.exit(withError: error)
        }
        let message = EnergyMonitorCommand.message(for: error)
        failWithOneLine(message + " (see energy-monitor --help)", code: code.rawValue)
    }

    static func failWithOneLine(_ message: String, code: Int32 = 1) -> Never {
        let line = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        FileHandle.standardError.write(Data("energy-monitor: error: \(line)\n".utf8))
        exit(code == 0 ? 1 : code)
    }
}
