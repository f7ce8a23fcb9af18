import PostgresNIO

/// Describes an error for a log line without PHI.
///
/// A PostgreSQL error's detail can quote a whole failing row ("Failing row contains (...)"),
/// names included, so only the SQLSTATE, the object names and the message with its quoted
/// values masked are kept. Bind values never appear: PostgresNIO prints them as `****`.
public func logSafeDescription(of error: any Error) -> String {
    guard let error = error as? PSQLError else {
        return String(describing: type(of: error)) + ": " + maskQuoted(String(describing: error))
    }
    var parts = ["PSQLError(\(error.code)"]
    if let info = error.serverInfo {
        if let state = info[.sqlState] { parts.append("sqlstate \(state)") }
        if let table = info[.tableName] { parts.append("table \(table)") }
        if let column = info[.columnName] { parts.append("column \(column)") }
        if let constraint = info[.constraintName] { parts.append("constraint \(constraint)") }
        if let message = info[.message] { parts.append("message \(maskQuoted(message))") }
    }
    if let underlying = error.underlying { parts.append("underlying \(String(describing: underlying))") }
    return parts.joined(separator: ", ") + ")"
}

/// Replaces text between double quotes, where PostgreSQL quotes input values, with `…`.
func maskQuoted(_ text: String) -> String {
    var result = ""
    var inside = false
    for character in text {
        if character == "\"" {
            result.append(character)
            if !inside { result.append("…") }
            inside.toggle()
        } else if !inside {
            result.append(character)
        }
    }
    return result
}
