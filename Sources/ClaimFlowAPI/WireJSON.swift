import Foundation

/// Writes response bodies the way the API document describes them: snake_case keys in sorted
/// order, ids in lower case, times as ISO 8601, absent values left out, slashes unescaped.
///
/// Foundation's `JSONEncoder` writes a UUID in upper case and offers no hook to change that;
/// this encoder owns those choices instead of leaving them to each type. Money is not its
/// concern: amounts are ``MoneyAmount`` values, which encode themselves as strings.
enum WireJSON {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let root = WireNode()
        try root.store(value, codingPath: [])
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        root.write(to: &output)
        return output
    }

    /// `encounterId` → `encounter_id`, `renderingProviderNPI` → `rendering_provider_npi`: the same
    /// words as Foundation's `convertToSnakeCase`, so keys keep their published spelling.
    static func snakeCase(_ key: String) -> String {
        let scalars = Array(key.unicodeScalars)
        guard scalars.count > 1 else { return key.lowercased() }
        func isUpper(_ s: Unicode.Scalar) -> Bool { s.properties.isUppercase }
        func isLower(_ s: Unicode.Scalar) -> Bool { s.properties.isLowercase }
        var words: [Range<Int>] = []
        var wordStart = 0
        var search = 1
        while let upper = (search..<scalars.count).first(where: { isUpper(scalars[$0]) }) {
            words.append(wordStart..<upper)
            guard let lower = (upper..<scalars.count).first(where: { isLower(scalars[$0]) }) else {
                wordStart = upper
                search = scalars.count
                break
            }
            if lower == upper + 1 {
                wordStart = upper
            } else {
                words.append(upper..<(lower - 1))
                wordStart = lower - 1
            }
            search = lower + 1
        }
        words.append(wordStart..<scalars.count)
        return words.map { range in String(String.UnicodeScalarView(scalars[range])).lowercased() }
            .joined(separator: "_")
    }

    static func quoted(_ text: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): output.append(contentsOf: [92, 92])
            case 0x0A: output.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0x08: output.append(contentsOf: [92, UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [92, UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// One value of the document being built; containers hand out references to their children,
/// as `Encoder` requires.
final class WireNode {
    enum Content {
        case empty
        case literal(String)
        case text(String)
        case object([String: WireNode])
        case array([WireNode])
    }

    var content: Content = .empty

    func store(_ value: some Encodable, codingPath: [any CodingKey]) throws {
        switch value {
        case let id as UUID: content = .text(id.uuidString.lowercased())
        case let time as Date: content = .text(time.formatted(Date.ISO8601FormatStyle()))
        case let number as Decimal: content = .literal(number.description)
        case let url as URL: content = .text(url.absoluteString)
        default: try value.encode(to: WireEncoder(node: self, codingPath: codingPath))
        }
    }

    // A container's storage is taken out of `content` before it grows, so it is the only
    // reference and grows in place: copying it for every child made a list of n items cost n².
    func child(forKey key: String) -> WireNode {
        var fields: [String: WireNode]
        if case .object(let existing) = content { fields = existing } else { fields = [:] }
        if let node = fields[key] { return node }
        content = .empty
        let node = WireNode()
        fields[key] = node
        content = .object(fields)
        return node
    }

    func appendChild() -> WireNode {
        var items: [WireNode]
        if case .array(let existing) = content { items = existing } else { items = [] }
        content = .empty
        let node = WireNode()
        items.append(node)
        content = .array(items)
        return node
    }

    var count: Int {
        switch content {
        case .array(let items): items.count
        case .object(let fields): fields.count
        default: 0
        }
    }

    func write(to output: inout [UInt8]) {
        switch content {
        case .empty: output.append(contentsOf: Array("{}".utf8))
        case .literal(let text): output.append(contentsOf: Array(text.utf8))
        case .text(let text): WireJSON.quoted(text, into: &output)
        case .object(let fields):
            output.append(UInt8(ascii: "{"))
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                WireJSON.quoted(key, into: &output)
                output.append(UInt8(ascii: ":"))
                fields[key]!.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .array(let items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                item.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        }
    }

    func set(_ value: Bool) { content = .literal(value ? "true" : "false") }
    func set(_ value: String) { content = .text(value) }
    func setNil() { content = .literal("null") }
    func set<Number: BinaryInteger>(integer value: Number) { content = .literal(String(value)) }

    func set<Number: BinaryFloatingPoint & LosslessStringConvertible>(float value: Number, codingPath: [any CodingKey]) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "not a finite number"))
        }
        if value.rounded() == value, abs(value) < 1e15 {
            content = .literal(String(Int64(value)))
        } else {
            content = .literal(String(value))
        }
    }
}

private struct WireEncoder: Encoder {
    let node: WireNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([:]) }
        return KeyedEncodingContainer(WireKeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return WireUnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        WireSingleValueContainer(node: node, codingPath: codingPath)
    }
}

private struct WireKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: WireNode
    let codingPath: [any CodingKey]

    private func child(_ key: Key) -> WireNode { node.child(forKey: WireJSON.snakeCase(key.stringValue)) }

    mutating func encodeNil(forKey key: Key) throws { child(key).setNil() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { child(key).set(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { child(key).set(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        try child(key).set(float: value, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        try child(key).set(float: value, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { child(key).set(integer: value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { child(key).set(integer: value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { child(key).set(integer: value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try child(key).store(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        WireEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        WireEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        WireEncoder(node: node.child(forKey: "super"), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        WireEncoder(node: child(key), codingPath: codingPath + [key])
    }
}

private struct WireIndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct WireUnkeyedContainer: UnkeyedEncodingContainer {
    let node: WireNode
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    private func next() -> WireNode { node.appendChild() }
    private var nextPath: [any CodingKey] { codingPath + [WireIndexKey(count)] }

    mutating func encodeNil() throws { next().setNil() }
    mutating func encode(_ value: Bool) throws { next().set(value) }
    mutating func encode(_ value: String) throws { next().set(value) }
    mutating func encode(_ value: Double) throws { try next().set(float: value, codingPath: nextPath) }
    mutating func encode(_ value: Float) throws { try next().set(float: value, codingPath: nextPath) }
    mutating func encode(_ value: Int) throws { next().set(integer: value) }
    mutating func encode(_ value: Int64) throws { next().set(integer: value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try next().store(value, codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        return WireEncoder(node: next(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        return WireEncoder(node: next(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        return WireEncoder(node: next(), codingPath: path)
    }
}

private struct WireSingleValueContainer: SingleValueEncodingContainer {
    let node: WireNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.setNil() }
    mutating func encode(_ value: Bool) throws { node.set(value) }
    mutating func encode(_ value: String) throws { node.set(value) }
    mutating func encode(_ value: Double) throws { try node.set(float: value, codingPath: codingPath) }
    mutating func encode(_ value: Float) throws { try node.set(float: value, codingPath: codingPath) }
    mutating func encode(_ value: Int) throws { node.set(integer: value) }
    mutating func encode(_ value: Int8) throws { node.set(integer: value) }
    mutating func encode(_ value: Int16) throws { node.set(integer: value) }
    mutating func encode(_ value: Int32) throws { node.set(integer: value) }
    mutating func encode(_ value: Int64) throws { node.set(integer: value) }
    mutating func encode(_ value: UInt) throws { node.set(integer: value) }
    mutating func encode(_ value: UInt8) throws { node.set(integer: value) }
    mutating func encode(_ value: UInt16) throws { node.set(integer: value) }
    mutating func encode(_ value: UInt32) throws { node.set(integer: value) }
    mutating func encode(_ value: UInt64) throws { node.set(integer: value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try node.store(value, codingPath: codingPath) }
}
