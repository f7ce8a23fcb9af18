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

    public init(
        id: UUID? = nil, code: String, name: String, npi: String, taxID: String, taxonomy: String,
        address: PostalAddress, segregateDuties: Bool = false
    ) {
        self.id = id
        self.code = code
        self.name = name
        self.npi = npi
        self.taxID = taxID
        self.taxonomy = taxonomy
        self.address = address
        self.segregateDuties = segregateDuties
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

/// An insurer, known by the electronic payer id its clearinghouse uses.
public struct Payer: Sendable, Hashable, Codable {
    public var id: UUID?
    public var payerCode: String
    public var name: String
    /// Days after the date of service within which the payer accepts a claim.
    public var filingLimitDays: Int

    public init(id: UUID? = nil, payerCode: String, name: String, filingLimitDays: Int = 365) {
        self.id = id
        self.payerCode = payerCode
        self.name = name
        self.filingLimitDays = filingLimitDays
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
