/// Why no usable connection to the Kubernetes API could be loaded. The description is one
/// line naming the file and key; it never contains a secret.
public struct KubernetesConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
