import PostgresNIO

/// A piece of SQL with its values, written like a `PostgresQuery` (literal text is SQL, each
/// interpolation a bound parameter) but numbered only where it is written into a statement.
///
/// A `PostgresQuery` cannot be interpolated into another: each numbers its binds from `$1`.
/// A fragment keeps its pieces apart until `append(_:)` replays them into the statement being
/// built, so its values become that statement's next `$n`.
struct SQLFragment: ExpressibleByStringInterpolation {
    fileprivate typealias Piece = (inout PostgresQuery.StringInterpolation) throws -> Void
    fileprivate let pieces: [Piece]

    init(stringLiteral value: String) {
        pieces = [{ $0.appendLiteral(value) }]
    }

    init(stringInterpolation: StringInterpolation) {
        pieces = stringInterpolation.pieces
    }

    struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var pieces: [Piece] = []

        init(literalCapacity: Int, interpolationCount: Int) {
            pieces.reserveCapacity(2 * interpolationCount + 1)
        }

        mutating func appendLiteral(_ literal: String) {
            pieces.append { $0.appendLiteral(literal) }
        }

        mutating func appendInterpolation<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value) {
            pieces.append { try $0.appendInterpolation(value) }
        }

        mutating func appendInterpolation<Value: PostgresThrowingDynamicTypeEncodable>(_ value: Value?) {
            pieces.append { try $0.appendInterpolation(value) }
        }

        /// Another fragment, written in place (its values numbered where this one lands).
        mutating func appendInterpolation(_ fragment: SQLFragment) {
            pieces.append(contentsOf: fragment.pieces)
        }
    }
}

extension PostgresQuery.StringInterpolation {
    /// Writes the fragment's SQL here, its values bound as this statement's next parameters.
    mutating func append(_ fragment: SQLFragment) throws {
        for piece in fragment.pieces { try piece(&self) }
    }

    /// `\(fragment: part)`: the fragment's SQL in place, its values bound as this statement's.
    /// Labelled, so a string can never be taken for SQL where a bound value was meant.
    mutating func appendInterpolation(fragment: SQLFragment) throws {
        try append(fragment)
    }
}
