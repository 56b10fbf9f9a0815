import EnergyModel
import UserInput

/// Why no usable connection to the Kubernetes API could be loaded. The description is one
/// line naming the file and key; it never contains a secret.
public struct KubernetesConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message.foldedToOneLine()
    }

    /// A kubeconfig's error as the readers of user files report it, with the file named:
    /// `kubeconfig /etc/kube/config: clusters[c].cluster.server: missing`.
    init(kubeconfig path: String, _ error: KeyPathError) {
        self.init("kubeconfig \(error.located(in: path).description)")
    }

    /// The message.
    public var description: String { message }
}
