import Foundation
import UserInput

/// One kubeconfig file as read: its path (for messages), its folder (relative paths in it
/// are relative to it) and its document.
struct KubeconfigFile: Sendable {
    var path: String
    var directory: String
    var root: YAMLValue

    /// Reads the file; errors name it.
    static func read(_ path: String) throws(KubernetesConfigurationError) -> KubeconfigFile {
        let root: YAMLValue?
        do {
            root = try YAMLDocument.read(path: path)
        } catch {
            throw KubernetesConfigurationError("kubeconfig \(error.description)")
        }
        return try make(root, path: path, directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// A file from its parsed document.
    static func make(_ root: YAMLValue?, path: String, directory: String) throws(KubernetesConfigurationError)
        -> KubeconfigFile
    {
        guard let root else { throw KubernetesConfigurationError(kubeconfig: path, KeyPathError("", "is empty")) }
        do {
            _ = try root.entries()  // a mapping
        } catch {
            throw KubernetesConfigurationError(kubeconfig: path, error)
        }
        return KubeconfigFile(path: path, directory: directory, root: root)
    }
}

/// The files of `$KUBECONFIG` merged as clientcmd's loading rules merge them: "the first file
/// to set a particular map key wins and map key's value is never changed". A cluster, user or
/// context is taken whole from the first file that names it (never combined field by field);
/// `current-context` is the first one set. Each entry keeps its own file, so that its relative
/// paths resolve against that file's folder and its errors name that file.
struct KubeconfigSet: Sendable {
    /// An entry found in one of the files.
    struct Entry {
        var file: KubeconfigFile
        var value: YAMLValue
    }

    var files: [KubeconfigFile]

    /// The paths, for messages about the set as a whole.
    var description: String { files.map(\.path).joined(separator: ", ") }

    /// The first `current-context` that is set.
    func currentContext() throws(KubernetesConfigurationError) -> String? {
        for file in files {
            do throws(KeyPathError) {
                if let member = file.root.member("current-context"), !member.isNull {
                    let name = try member.rawString().trimmingCharacters(in: .whitespaces)
                    if !name.isEmpty { return name }
                }
            } catch {
                throw KubernetesConfigurationError(kubeconfig: file.path, error)
            }
        }
        return nil
    }

    /// The `field` mapping of the first entry called `name` in the list `list`, at the key
    /// path `list[name].field` of its file.
    func named(_ list: String, _ name: String, field: String) throws(KubernetesConfigurationError) -> Entry {
        for file in files {
            do throws(KeyPathError) {
                guard let member = file.root.member(list), !member.isNull else { continue }
                for entry in try member.list() where entry.member("name")?.scalar?.text == name {
                    let path = "\(list)[\(name)].\(field)"
                    guard let value = entry.member(field), case .mapping = value.node.content else {
                        throw KeyPathError(path, "missing")
                    }
                    return Entry(file: file, value: YAMLValue(value.node, keyPath: path))
                }
            } catch {
                throw KubernetesConfigurationError(kubeconfig: file.path, error)
            }
        }
        let where_ = files.count == 1 ? "kubeconfig \(description)" : "kubeconfigs \(description)"
        throw KubernetesConfigurationError("\(where_): \(list): no entry named \"\(name)\"")
    }
}
