public import Foundation

/// A billing provider: the practice (or group) whose NPI and tax id go on the claim.
public struct Practice: Sendable, Hashable, Codable {
    public var id: UUID?
    /// A short handle, such as `DEMO`, used in URLs and the CLI.
    public var code: String
    public var name: String
    public var npi: String
    public var taxID: String
    public var taxonomy: String
    public var address: PostalAddress
    /// When true, the biller of a claim may not be the coder of its encounter.
    public var segregateDuties: Bool
    /// When the billing provider is a person (a solo practitioner billing under their own NPI,
    /// 2010AA NM102 = 1) rather than an organization: their name.
    public var individual: Individual?

    /// The name of a billing provider who is a person.
    public struct Individual: Sendable, Hashable, Codable {
        public var firstName: String
        public var lastName: String

        public init(firstName: String, lastName: String) {
            self.firstName = firstName
            self.lastName = lastName
        }
    }

    public init(
        id: UUID? = nil, code: String, name: String, npi: String, taxID: String, taxonomy: String,
        address: PostalAddress, segregateDuties: Bool = false, individual: Individual? = nil
    ) {
        self.id = id
        self.code = code
        self.name = name
        self.npi = npi
        self.taxID = taxID
        self.taxonomy = taxonomy
        self.address = address
        self.segregateDuties = segregateDuties
        self.individual = individual
    }
}

/// A US postal address as the 837P's N3/N4 segments carry it.
public struct PostalAddress: Sendable, Hashable, Codable {
    public var line1: String
    public var line2: String?
    public var city: String
    public var state: String
    public var postalCode: String

    public init(line1: String, line2: String? = nil, city: String, state: String, postalCode: String) {
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.state = state
        self.postalCode = postalCode
    }
}

/// Why an address cannot be a billing provider's (837P loop 2010AA).
public struct BillingAddressFinding: Sendable, Hashable {
    public enum Field: Sendable, Hashable {
        case line1, line2, postalCode
    }

    public let field: Field
    /// Says what the address must be; never repeats the address.
    public let message: String

    /// The field's name as the API spells it: `line1`, `line2` or `postal_code`.
    public var fieldName: String {
        switch field {
        case .line1: "line1"
        case .line2: "line2"
        case .postalCode: "postal_code"
        }
    }
}

extension PostalAddress {
    /// The 005010X222A1 guide's rules for the billing provider's address (loop 2010AA):
    /// N403 is a 9-digit ZIP+4 code and N301/N302 a street address, never a post office or
    /// lock box (a payer that pays to a box gets it in the pay-to loop 2010AB). Empty when
    /// the address may be a billing provider's. Other loops accept 5-digit ZIP codes and boxes.
    public var billingProviderFindings: [BillingAddressFinding] {
        var findings: [BillingAddressFinding] = []
        if Self.isPostOfficeBox(line1) {
            findings.append(.init(field: .line1, message: "must be a street address, not a PO box"))
        }
        if let line2, Self.isPostOfficeBox(line2) {
            findings.append(.init(field: .line2, message: "must be a street address, not a PO box"))
        }
        let zip = postalCode.filter { $0 != "-" && $0 != " " }
        if zip.count != 9 || !zip.allSatisfy(\.isASCIIDigit) {
            findings.append(.init(field: .postalCode, message: "must be a 9-digit ZIP+4 code"))
        }
        return findings
    }

    /// The spellings of a box, without spaces or dots: PO BOX, P.O. BOX, P O BOX, POBOX,
    /// POST OFFICE BOX, PO BX, LOCK BOX, LOCKBOX.
    private static let boxSpellings: Set<String> = ["POBOX", "POBX", "POSTOFFICEBOX", "POSTOFFICEBX", "LOCKBOX", "LOCKBX"]

    /// Whether an address line names a post office or lock box, in any case and with any
    /// dots or spaces between the letters ("p.o. box 12", "Post Office Box 7", "LOCKBOX 3").
    /// Whole words only: "Depot Box Road" or "Boxwood Lane" is a street.
    public static func isPostOfficeBox(_ line: String) -> Bool {
        let words = line.uppercased().split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }.map(String.init)
        for start in words.indices {
            var joined = ""
            for word in words[start...] {
                joined += word
                if boxSpellings.contains(joined) { return true }
                if joined.count >= 13 { break }
            }
        }
        return false
    }
}

/// A clinician who renders services for a practice.
public struct Provider: Sendable, Hashable, Codable {
    public var id: UUID?
    public var practiceID: UUID
    public var npi: String
    public var firstName: String
    public var lastName: String
    public var taxonomy: String?

    public init(id: UUID? = nil, practiceID: UUID, npi: String, firstName: String, lastName: String, taxonomy: String? = nil) {
        self.id = id
        self.practiceID = practiceID
        self.npi = npi
        self.firstName = firstName
        self.lastName = lastName
        self.taxonomy = taxonomy
    }
}

/// An insurer, known by the electronic payer id its clearinghouse uses, with the profile
/// that shapes its claims.
public struct Payer: Sendable, Hashable, Codable {
    public var id: UUID?
    public var payerCode: String
    public var name: String
    /// Days after the date of service within which the payer accepts an original claim.
    public var filingLimitDays: Int
    /// SBR09 of every 837P to this payer, one of ``X12Writer/claimFilingIndicators``
    /// (`CI` commercial, `MB` Medicare Part B, `MC` Medicaid, `BL` Blue Cross, ...).
    public var claimFilingIndicator: String
    /// Whether the payer takes replacement (frequency 7) and void (8) claims; when it does
    /// not, a correction goes to it as a new original.
    public var acceptsCorrections: Bool
    /// Days after the date of service within which the payer accepts a corrected claim.
    public var correctedFilingLimitDays: Int

    public init(
        id: UUID? = nil, payerCode: String, name: String, filingLimitDays: Int = 365, claimFilingIndicator: String = "CI",
        acceptsCorrections: Bool = true, correctedFilingLimitDays: Int = 365
    ) {
        self.id = id
        self.payerCode = payerCode
        self.name = name
        self.filingLimitDays = filingLimitDays
        self.claimFilingIndicator = claimFilingIndicator
        self.acceptsCorrections = acceptsCorrections
        self.correctedFilingLimitDays = correctedFilingLimitDays
    }

    private enum CodingKeys: String, CodingKey {
        case id, payerCode, name, filingLimitDays, claimFilingIndicator, acceptsCorrections, correctedFilingLimitDays
    }

    /// Claim snapshots taken before payer profiles (sql/0006_payer_profiles.sql) lack the
    /// profile's keys; they decode with the values their 837P was written with then (SBR09 `CI`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(UUID.self, forKey: .id)
        payerCode = try container.decode(String.self, forKey: .payerCode)
        name = try container.decode(String.self, forKey: .name)
        filingLimitDays = try container.decodeIfPresent(Int.self, forKey: .filingLimitDays) ?? 365
        claimFilingIndicator = try container.decodeIfPresent(String.self, forKey: .claimFilingIndicator) ?? "CI"
        acceptsCorrections = try container.decodeIfPresent(Bool.self, forKey: .acceptsCorrections) ?? true
        correctedFilingLimitDays = try container.decodeIfPresent(Int.self, forKey: .correctedFilingLimitDays) ?? 365
    }
}

/// A ClaimFlow user: a person with roles in some practices.
public struct User: Sendable, Hashable, Codable {
    public var id: UUID?
    public var username: String
    public var displayName: String
    public var roles: Set<Role>
    public var practiceIDs: Set<UUID>
    /// Specialties this user may code, matched against an encounter's specialty.
    public var skills: Set<String>
    public var active: Bool

    public init(
        id: UUID? = nil, username: String, displayName: String, roles: Set<Role>, practiceIDs: Set<UUID>,
        skills: Set<String> = [], active: Bool = true
    ) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.roles = roles
        self.practiceIDs = practiceIDs
        self.skills = skills
        self.active = active
    }
}
