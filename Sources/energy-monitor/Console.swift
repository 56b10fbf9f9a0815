import Foundation

/// Unbuffered standard output: lines appear at once even when stdout is a pipe or a file,
/// which is what people watching the demo and scripts waiting for a line expect.
enum Console {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
