import Foundation

/// Finds a field of a JSON request body that its Swift type never reads, so that a misspelt or
/// unsupported field is a 400 naming it instead of a 200 that silently did nothing.
///
/// `JSONDecoder` has no strict mode, so the type is decoded a second time, after `JSONDecoder`
/// accepted the body, through a small decoder over the parsed JSON that records which keys each
/// keyed container asked for (`decode`, `decodeIfPresent`, `contains`, `nestedContainer`, or
/// `allKeys` for types that take any key, such as dictionaries). Keys are matched the way the
/// API's decoder matches them: snake_case in JSON, camelCase in Swift.
enum UnknownFields {
    /// The dotted path (`rules.0.colour`) of the first field `T` does not read, or nil. Nil too
    /// when the second decoding fails for any reason: the body was already accepted, and this
    /// check only ever adds an error, never removes one.
    static func first<T: Decodable>(in json: Any, decoding type: T.Type) -> String? {
        let tracker = Tracker()
        do {
            _ = try T(from: TrackingDecoder(value: json, codingPath: [], path: [], tracker: tracker))
        } catch {
            return nil
        }
        return tracker.firstUnread(in: json, path: [])
    }

    /// The keys each JSON object (by its path) was asked for.
    final class Tracker {
        var read: [String: Set<String>] = [:]
        /// Objects that accept any key (decoded as dictionaries, or enumerated with `allKeys`).
        var open: Set<String> = []

        static func key(_ path: [String]) -> String { path.joined(separator: "\u{1F}") }

        func firstUnread(in value: Any, path: [String]) -> String? {
            if let object = value as? [String: Any] {
                let id = Self.key(path)
                guard let read = read[id] else { return nil }  // never opened as an object: not ours to judge
                for name in object.keys.sorted() {
                    if !open.contains(id), !read.contains(name) { return (path + [name]).joined(separator: ".") }
                    if let inner = firstUnread(in: object[name]!, path: path + [name]) { return inner }
                }
            } else if let array = value as? [Any] {
                for (index, element) in array.enumerated() {
                    if let inner = firstUnread(in: element, path: path + [String(index)]) { return inner }
                }
            }
            return nil
        }
    }

    /// JSON's snake_case key as the API decoder's `convertFromSnakeCase` presents it to Swift.
    static func camelCase(_ key: String) -> String {
        guard key.contains("_") else { return key }
        let leading = key.prefix { $0 == "_" }
        let trailing = key.reversed().prefix { $0 == "_" }
        let core = key.dropFirst(leading.count).dropLast(trailing.count)
        guard !core.isEmpty else { return key }
        let words = core.split(separator: "_", omittingEmptySubsequences: true)
        let joined = words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
        return leading + joined + String(trailing)
    }

    struct TrackingDecoder: Decoder {
        let value: Any
        var codingPath: [any CodingKey]
        /// The JSON keys and indexes to `value` (the coding path names Swift's keys).
        let path: [String]
        let tracker: Tracker
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            guard let object = value as? [String: Any] else { throw mismatch([String: Any].self) }
            return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, object: object))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            guard let array = value as? [Any] else { throw mismatch([Any].self) }
            return UnkeyedContainer(decoder: self, array: array)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValue(decoder: self) }

        func mismatch(_ type: Any.Type) -> DecodingError {
            .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "not a \(type)"))
        }

        func child(_ value: Any, _ key: any CodingKey, json name: String) -> TrackingDecoder {
            TrackingDecoder(value: value, codingPath: codingPath + [key], path: path + [name], tracker: tracker)
        }

        /// Values the standard decoder special-cases: reading them through their own `init(from:)`
        /// would expect another JSON shape.
        func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
            if T.self == Date.self {
                let date = (value as? String).flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date(timeIntervalSince1970: 0)
                return date as! T
            }
            if T.self == Data.self { return (Data(base64Encoded: value as? String ?? "") ?? Data()) as! T }
            if T.self == Decimal.self { return (Decimal(string: "\(value)") ?? 0) as! T }
            if T.self == URL.self, let text = value as? String, let url = URL(string: text) { return url as! T }
            return try T(from: self)
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: TrackingDecoder
        let object: [String: Any]
        /// JSON keys by the Swift key they convert to.
        let byCamelCase: [String: String]
        var codingPath: [any CodingKey] { decoder.codingPath }

        init(decoder: TrackingDecoder, object: [String: Any]) {
            self.decoder = decoder
            self.object = object
            // Two spellings of one field (`domain_name` and `domainName`): the API's snake_case one
            // is the field, the other is reported.
            var byCamelCase: [String: String] = [:]
            for key in object.keys.sorted() {
                let swiftName = UnknownFields.camelCase(key)
                if let taken = byCamelCase[swiftName], taken != swiftName { continue }
                byCamelCase[swiftName] = key
            }
            self.byCamelCase = byCamelCase
            decoder.tracker.read[Tracker.key(decoder.path), default: []].formUnion([])
        }

        var allKeys: [Key] {
            let keys = byCamelCase.keys.compactMap(Key.init(stringValue:))
            let names = keys.compactMap { byCamelCase[$0.stringValue] }
            decoder.tracker.read[Tracker.key(decoder.path), default: []].formUnion(names)
            return keys
        }

        func raw(_ key: Key) -> String? {
            let name = byCamelCase[key.stringValue]
            if let name { decoder.tracker.read[Tracker.key(decoder.path), default: []].insert(name) }
            return name
        }

        /// The decoder of the value at `key`.
        func child(_ key: Key) throws -> TrackingDecoder {
            guard let name = raw(key), let value = object[name] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
            }
            return decoder.child(value, key, json: name)
        }

        func contains(_ key: Key) -> Bool { raw(key) != nil }

        func decodeNil(forKey key: Key) throws -> Bool { (try? child(key)).map { $0.value is NSNull } ?? true }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(type) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<
            NestedKey
        > {
            try child(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }

        func superDecoder() throws -> any Decoder {
            decoder.tracker.open.insert(Tracker.key(decoder.path))
            return decoder
        }

        func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let decoder: TrackingDecoder
        let array: [Any]
        var currentIndex = 0
        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { array.count }
        var isAtEnd: Bool { currentIndex >= array.count }

        struct Index: CodingKey {
            var intValue: Int?
            var stringValue: String { String(intValue ?? 0) }
            init(_ index: Int) { intValue = index }
            init?(stringValue: String) { nil }
            init?(intValue: Int) { self.intValue = intValue }
        }

        mutating func next() throws -> TrackingDecoder {
            guard !isAtEnd else { throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "at end")) }
            defer { currentIndex += 1 }
            return decoder.child(array[currentIndex], Index(currentIndex), json: String(currentIndex))
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, array[currentIndex] is NSNull else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

        mutating func superDecoder() throws -> any Decoder { try next() }
    }

    struct SingleValue: SingleValueDecodingContainer {
        let decoder: TrackingDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }

        func decodeNil() -> Bool { decoder.value is NSNull }

        func decode(_ type: Bool.Type) throws -> Bool {
            guard let value = decoder.value as? Bool else { throw decoder.mismatch(type) }
            return value
        }

        func decode(_ type: String.Type) throws -> String {
            guard let value = decoder.value as? String else { throw decoder.mismatch(type) }
            return value
        }

        func decode(_ type: Double.Type) throws -> Double { try number(type) }
        func decode(_ type: Float.Type) throws -> Float { try number(type) }
        func decode(_ type: Int.Type) throws -> Int { try number(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try number(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try number(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try number(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try number(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try number(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try number(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try number(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try number(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try number(type) }

        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }

        /// The standard decoder already checked the number's range; the value only steers the
        /// type's own checks here.
        func number<N: Numeric & LosslessStringConvertible>(_ type: N.Type) throws -> N {
            guard let number = decoder.value as? NSNumber else { throw decoder.mismatch(type) }
            return N(number.stringValue) ?? N(exactly: number.intValue) ?? 0
        }
    }
}
