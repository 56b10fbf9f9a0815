/// Why a query was refused: the parameter at fault and the reason, for one line such as
/// `to: must be after from` on HTTP and `--to: must be after --from` on the command line.
public struct QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A piece of the reason: text, or the name of a parameter, which each interface spells
    /// its own way.
    public enum Part: Sendable, Equatable {
        /// Words, as they are.
        case text(String)
        /// A parameter's name.
        case parameter(QueryParameter)
    }

    /// The parameter at fault.
    public var parameter: QueryParameter
    /// What is wrong with it.
    public var reason: [Part]

    /// An error whose reason is `reason`'s words.
    public init(_ parameter: QueryParameter, _ reason: String) {
        self.init(parameter, [.text(reason)])
    }

    /// An error whose reason names other parameters.
    public init(_ parameter: QueryParameter, _ reason: [Part]) {
        self.parameter = parameter
        self.reason = reason
    }

    /// The line, with the parameters named as `spelling` writes them.
    public func message(_ spelling: QueryParameter.Spelling) -> String {
        let words = reason.map { part in
            switch part {
            case .text(let text): text
            case .parameter(let other): other.name(spelling)
            }
        }
        // Values are quoted as given; a line break in one must not split the line.
        var line = ""
        for scalar in ("\(parameter.name(spelling)): " + words.joined()).unicodeScalars {
            if Character(scalar).isNewline {
                line += scalar.escaped(asASCII: true)
            } else {
                line.unicodeScalars.append(scalar)
            }
        }
        return line
    }

    /// The line as a URL query names the parameters: `to: must be after from`.
    public var description: String { message(.query) }
}
