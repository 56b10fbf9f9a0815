import CurlClient
import EnergyModel
import Foundation
import UserInput

extension KubernetesConnection {
    /// A context of a kubeconfig file (`current-context` when `context` is nil), as kubectl
    /// reads it: the cluster's `server`, `certificate-authority(-data)` and
    /// `insecure-skip-tls-verify`, the user's `client-certificate(-data)`/`client-key(-data)`,
    /// `token` and `tokenFile`. Relative file paths are relative to the kubeconfig's folder.
    /// Exec plugins, auth providers and basic auth are refused with a clear message.
    public static func kubeconfig(path: String, context: String? = nil) throws(KubernetesConfigurationError)
        -> KubernetesConnection
    {
        let root: YAMLValue?
        do {
            root = try YAMLDocument.read(path: path)
        } catch {
            throw KubernetesConfigurationError("kubeconfig \(error.description)")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            return try connection(root, path: path, baseDirectory: directory, context: context)
        } catch {
            throw KubernetesConfigurationError(kubeconfig: path, error)
        }
    }

    /// Parses kubeconfig text; `path` only names the file in messages.
    public static func parseKubeconfig(
        yaml: String, path: String, baseDirectory: String, context requested: String?
    ) throws(KubernetesConfigurationError) -> KubernetesConnection {
        do {
            return try connection(
                try YAMLDocument.parse(yaml), path: path, baseDirectory: baseDirectory, context: requested)
        } catch {
            throw KubernetesConfigurationError(kubeconfig: path, error)
        }
    }

    private static func connection(
        _ document: YAMLValue?, path: String, baseDirectory: String, context requested: String?
    ) throws(KeyPathError) -> KubernetesConnection {
        let reader = KubeconfigReader(baseDirectory: baseDirectory)
        guard let root = document else { throw KeyPathError("", "is empty") }
        _ = try root.entries()  // a mapping

        let contextName: String
        if let requested {
            contextName = requested
        } else {
            guard let current = try reader.string(root, "current-context") else {
                throw KeyPathError("current-context", "not set; name a context")
            }
            contextName = current
        }
        let contextEntry = try reader.named(root, list: "contexts", name: contextName, field: "context")
        guard let clusterName = try reader.string(contextEntry, "cluster") else {
            throw KeyPathError(contextEntry.path(of: "cluster"), "missing")
        }
        let cluster = try reader.named(root, list: "clusters", name: clusterName, field: "cluster")
        guard let server = try reader.string(cluster, "server") else {
            throw KeyPathError(cluster.path(of: "server"), "missing")
        }
        // Plain http would send the bearer token and every node patch unencrypted.
        guard server.lowercased().hasPrefix("https://") else {
            throw KeyPathError(cluster.path(of: "server"), "must be an https:// URL, not \"\(server)\"")
        }
        var tls = TLSOptions()
        if let file = try reader.file(cluster, "certificate-authority") {
            tls.caFile = file
        }
        if let data = try reader.base64(cluster, "certificate-authority-data") {
            tls.caPEM = data
        }
        // Verification is skipped only when the file says so explicitly, as kubectl does.
        if try reader.bool(cluster, "insecure-skip-tls-verify") {
            guard tls.caFile == nil, tls.caPEM == nil else {
                throw KeyPathError(
                    cluster.path(of: "insecure-skip-tls-verify"),
                    "cannot be combined with a certificate authority (kubectl refuses this too)")
            }
            tls.insecureSkipVerify = true
        }

        var credentials = Credentials.none
        if let userName = try reader.string(contextEntry, "user") {
            let user = try reader.named(root, list: "users", name: userName, field: "user")
            for unsupported in ["exec", "auth-provider", "username", "password"] where user.member(unsupported) != nil {
                throw KeyPathError(
                    user.path(of: unsupported),
                    "is not supported; use a token, tokenFile or client certificate (e.g. a service-account token)")
            }
            if let file = try reader.file(user, "client-certificate") {
                tls.clientCertificateFile = file
            }
            if let data = try reader.base64(user, "client-certificate-data") {
                tls.clientCertificatePEM = data
            }
            if let file = try reader.file(user, "client-key") {
                tls.clientKeyFile = file
            }
            if let data = try reader.base64(user, "client-key-data") {
                tls.clientKeyPEM = data
            }
            let hasCertificate = tls.clientCertificateFile != nil || tls.clientCertificatePEM != nil
            let hasKey = tls.clientKeyFile != nil || tls.clientKeyPEM != nil
            guard hasCertificate == hasKey else {
                throw user.error("client-certificate and client-key must be given together")
            }
            if let token = try reader.string(user, "token") {
                credentials = .token(token)
            } else if let file = try reader.file(user, "tokenFile") {
                credentials = .tokenFile(file)
            }
        }
        return KubernetesConnection(
            server: server, tls: tls, credentials: credentials, origin: "kubeconfig \(path) (context \(contextName))")
    }
}

/// The parts of a kubeconfig, read from ``YAMLValue``s. Keys of other tools (`preferences`,
/// `extensions`) are no concern here, as for kubectl; the ones read are checked.
private struct KubeconfigReader {
    let baseDirectory: String

    /// The `field` mapping of the entry called `name` in the list `list`, at the key path
    /// `list[name].field`.
    func named(_ root: YAMLValue, list: String, name: String, field: String) throws(KeyPathError) -> YAMLValue {
        guard let entries = try root.member(list)?.list() else { throw KeyPathError(list, "missing") }
        for entry in entries where entry.member("name")?.scalar?.text == name {
            let path = "\(list)[\(name)].\(field)"
            guard let value = entry.member(field), case .mapping = value.node.content else {
                throw KeyPathError(path, "missing")
            }
            return YAMLValue(value.node, keyPath: path)
        }
        throw KeyPathError(list, "no entry named \"\(name)\"")
    }

    /// The trimmed single value of `key`; nil when absent or empty.
    func string(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> String? {
        guard let member = value.member(key), !member.isNull else { return nil }
        let text = try member.rawString().trimmingSpaces()
        return text.isEmpty ? nil : text
    }

    func base64(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> [UInt8]? {
        guard let text = try string(value, key) else { return nil }
        guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw KeyPathError(value.path(of: key), "is not base64")
        }
        return [UInt8](data)
    }

    func bool(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> Bool {
        guard try string(value, key) != nil, let member = value.member(key) else { return false }
        return try member.bool()
    }

    /// The file named by `key`, resolved (relative to the kubeconfig's folder, `~/` to the home
    /// folder) and read once through ``UserFile``, so a wrong path, a folder or a FIFO is named
    /// now and not as a TLS failure later.
    func file(_ value: YAMLValue, _ key: String) throws(KeyPathError) -> String? {
        guard let name = try string(value, key) else { return nil }
        let file = resolve(name)
        do {
            _ = try UserFile(path: file)
        } catch {
            throw KeyPathError(value.path(of: key), "cannot read \(file): \(error.problem)")
        }
        return file
    }

    func resolve(_ file: String) -> String {
        if file.hasPrefix("/") { return file }
        if file.hasPrefix("~/") { return NSHomeDirectory() + file.dropFirst(1) }
        return URL(fileURLWithPath: baseDirectory).appendingPathComponent(file).path
    }
}
