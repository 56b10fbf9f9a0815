import CurlClient
import Foundation
import Yams

extension KubernetesConnection {
    /// A context of a kubeconfig file (`current-context` when `context` is nil), as kubectl
    /// reads it: the cluster's `server`, `certificate-authority(-data)` and
    /// `insecure-skip-tls-verify`, the user's `client-certificate(-data)`/`client-key(-data)`,
    /// `token` and `tokenFile`. Relative file paths are relative to the kubeconfig's folder.
    /// Exec plugins, auth providers and basic auth are refused with a clear message.
    public static func kubeconfig(path: String, context: String? = nil) throws(KubernetesConfigurationError) -> KubernetesConnection {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KubernetesConfigurationError("kubeconfig \(path): cannot read (\(Self.reason(error)))")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parseKubeconfig(yaml: text, path: path, baseDirectory: directory, context: context)
    }

    /// Parses kubeconfig text; `path` only names the file in messages.
    public static func parseKubeconfig(
        yaml: String, path: String, baseDirectory: String, context requested: String?
    ) throws(KubernetesConfigurationError) -> KubernetesConnection {
        let reader = KubeconfigReader(path: path, baseDirectory: baseDirectory)
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else { throw reader.error("", "is empty") }
            root = composed
        } catch let error as KubernetesConfigurationError {
            throw error
        } catch {
            throw reader.error("", "is not valid YAML")
        }
        guard root.mapping != nil else { throw reader.error("", "must be a mapping") }

        let contextName: String
        if let requested {
            contextName = requested
        } else {
            guard let current = root["current-context"]?.scalar?.string, !current.isEmpty else {
                throw reader.error("current-context", "not set; name a context")
            }
            contextName = current
        }
        let contextEntry = try reader.named(root, list: "contexts", name: contextName, field: "context")
        guard let clusterName = contextEntry["cluster"]?.scalar?.string, !clusterName.isEmpty else {
            throw reader.error("contexts[\(contextName)].context.cluster", "missing")
        }
        let cluster = try reader.named(root, list: "clusters", name: clusterName, field: "cluster")
        let clusterPath = "clusters[\(clusterName)].cluster"
        guard let server = cluster["server"]?.scalar?.string, !server.isEmpty else {
            throw reader.error("\(clusterPath).server", "missing")
        }
        // Plain http would send the bearer token and every node patch unencrypted.
        guard server.lowercased().hasPrefix("https://") else {
            throw reader.error("\(clusterPath).server", "must be an https:// URL, not \"\(server)\"")
        }
        var tls = TLSOptions()
        if let file = try reader.string(cluster, "certificate-authority", clusterPath) {
            tls.caFile = reader.resolve(file)
        }
        if let data = try reader.base64(cluster, "certificate-authority-data", clusterPath) {
            tls.caPEM = data
        }
        // Verification is skipped only when the file says so explicitly, as kubectl does.
        if try reader.bool(cluster, "insecure-skip-tls-verify", clusterPath) {
            guard tls.caFile == nil, tls.caPEM == nil else {
                throw reader.error(
                    "\(clusterPath).insecure-skip-tls-verify",
                    "cannot be combined with a certificate authority (kubectl refuses this too)")
            }
            tls.insecureSkipVerify = true
        }

        var credentials = Credentials.none
        if let userName = contextEntry["user"]?.scalar?.string, !userName.isEmpty {
            let user = try reader.named(root, list: "users", name: userName, field: "user")
            let userPath = "users[\(userName)].user"
            for unsupported in ["exec", "auth-provider", "username", "password"] where user[unsupported] != nil {
                throw reader.error(
                    "\(userPath).\(unsupported)",
                    "is not supported; use a token, tokenFile or client certificate (e.g. a service-account token)")
            }
            if let file = try reader.string(user, "client-certificate", userPath) {
                tls.clientCertificateFile = reader.resolve(file)
            }
            if let data = try reader.base64(user, "client-certificate-data", userPath) {
                tls.clientCertificatePEM = data
            }
            if let file = try reader.string(user, "client-key", userPath) {
                tls.clientKeyFile = reader.resolve(file)
            }
            if let data = try reader.base64(user, "client-key-data", userPath) {
                tls.clientKeyPEM = data
            }
            let hasCertificate = tls.clientCertificateFile != nil || tls.clientCertificatePEM != nil
            let hasKey = tls.clientKeyFile != nil || tls.clientKeyPEM != nil
            guard hasCertificate == hasKey else {
                throw reader.error(userPath, "client-certificate and client-key must be given together")
            }
            if let token = try reader.string(user, "token", userPath) {
                credentials = .token(token)
            } else if let file = try reader.string(user, "tokenFile", userPath) {
                credentials = .tokenFile(reader.resolve(file))
            }
        }
        for file in [tls.caFile, tls.clientCertificateFile, tls.clientKeyFile].compactMap({ $0 })
        where !FileManager.default.isReadableFile(atPath: file) {
            throw reader.error(clusterPath, "cannot read \(file)")
        }
        if case .tokenFile(let file) = credentials, !FileManager.default.isReadableFile(atPath: file) {
            throw reader.error("users", "cannot read tokenFile \(file)")
        }
        return KubernetesConnection(
            server: server, tls: tls, credentials: credentials, origin: "kubeconfig \(path) (context \(contextName))")
    }

    static func reason(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, cocoa.code == .fileReadNoSuchFile { return "no such file" }
        if let cocoa = error as? CocoaError, cocoa.code == .fileReadNoPermission { return "permission denied" }
        return (error as NSError).localizedDescription
    }
}

/// Typed access to the parts of a kubeconfig, with the file and key in every error.
private struct KubeconfigReader {
    let path: String
    let baseDirectory: String

    func error(_ key: String, _ message: String) -> KubernetesConfigurationError {
        KubernetesConfigurationError(key.isEmpty ? "kubeconfig \(path): \(message)" : "kubeconfig \(path): \(key): \(message)")
    }

    /// The `field` mapping of the entry called `name` in the list `list`.
    func named(_ root: Node, list: String, name: String, field: String) throws(KubernetesConfigurationError) -> Node {
        guard let entries = root[list]?.sequence else { throw error(list, "missing") }
        for entry in entries where entry["name"]?.scalar?.string == name {
            guard let value = entry[field], value.mapping != nil else {
                throw error("\(list)[\(name)].\(field)", "missing")
            }
            return value
        }
        throw error(list, "no entry named \"\(name)\"")
    }

    func string(_ node: Node, _ key: String, _ parent: String) throws(KubernetesConfigurationError) -> String? {
        guard let value = node[key] else { return nil }
        guard let scalar = value.scalar else { throw error("\(parent).\(key)", "must be a single value") }
        let text = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    func base64(_ node: Node, _ key: String, _ parent: String) throws(KubernetesConfigurationError) -> [UInt8]? {
        guard let text = try string(node, key, parent) else { return nil }
        guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw error("\(parent).\(key)", "is not base64")
        }
        return [UInt8](data)
    }

    func bool(_ node: Node, _ key: String, _ parent: String) throws(KubernetesConfigurationError) -> Bool {
        guard let text = try string(node, key, parent) else { return false }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw error("\(parent).\(key)", "must be true or false")
        }
    }

    func resolve(_ file: String) -> String {
        if file.hasPrefix("/") { return file }
        if file.hasPrefix("~/") { return NSHomeDirectory() + file.dropFirst(1) }
        return URL(fileURLWithPath: baseDirectory).appendingPathComponent(file).path
    }
}
