/// Who a diagnosis code can apply to, and where on a claim it may stand: the edits payers run on
/// ICD-10-CM codes beyond "is it in the release".
///
/// Sex and age come from a documented derivation of the tabular's chapters and categories
/// (README, "Code-set edits"): a category whose title names one sex's organs, pregnancy, or the
/// perinatal period applies to that sex or age only, as the CMS Medicare Code Editor's sex and
/// age lists do. The first-listed-only Z codes are those of the ICD-10-CM Official Guidelines,
/// Section I.C.21.c.16. A code matches an entry when it starts with the entry's prefix and falls
/// in its range, so `N40` covers N40.0 through N40.3 and their children.
public enum DiagnosisEdits {
    /// A sex- or age-specific range of codes.
    public struct Applicability: Sendable, Hashable {
        /// The first and last three-character categories (or longer prefixes) of the range.
        public let from: String
        public let through: String
        /// The one sex the range applies to, if only one.
        public let sex: Sex?
        /// The ages, in whole years on the date of service, the range applies to.
        public let ages: ClosedRange<Int>?
        /// Whether an age outside `ages` is a warning rather than an error, below 18.
        public let ageIsAdvisory: Bool
        /// The tabular's name for the range, for the coder's message.
        public let title: String

        init(_ from: String, _ through: String, sex: Sex? = nil, ages: ClosedRange<Int>? = nil, advisory: Bool = false, _ title: String) {
            self.from = from
            self.through = through
            self.sex = sex
            self.ages = ages
            self.ageIsAdvisory = advisory
            self.title = title
        }

        /// Whether `code` (no dot) falls in the range: compared on as many characters as the
        /// range's bounds have.
        func contains(_ code: String) -> Bool {
            let low = String(code.prefix(from.count))
            let high = String(code.prefix(through.count))
            return low >= from && high <= through
        }
    }

    /// The maternity ages of the Medicare Code Editor (9 through 64 years).
    static let maternity = 9...64

    /// Sex- and age-specific ranges, by chapter and category titles.
    public static let applicability: [Applicability] = [
        // Chapter 15, Pregnancy, childbirth and the puerperium, and the Z codes of pregnancy.
        Applicability("O00", "O9A", sex: .female, ages: maternity, "pregnancy, childbirth and the puerperium (O00-O9A)"),
        Applicability("Z33", "Z37", sex: .female, ages: maternity, "pregnancy and its outcome (Z33-Z37)"),
        Applicability("Z39", "Z39", sex: .female, ages: maternity, "postpartum care (Z39)"),
        Applicability("Z3A", "Z3A", sex: .female, ages: maternity, "weeks of gestation (Z3A)"),
        // Female genital organs.
        Applicability("C51", "C58", sex: .female, "malignant neoplasms of female genital organs (C51-C58)"),
        Applicability("D06", "D06", sex: .female, "carcinoma in situ of cervix uteri (D06)"),
        Applicability("D070", "D073", sex: .female, "carcinoma in situ of female genital organs (D07.0-D07.3)"),
        Applicability("D25", "D28", sex: .female, "benign neoplasms of female genital organs (D25-D28)"),
        Applicability("D39", "D39", sex: .female, "neoplasm of uncertain behavior of female genital organs (D39)"),
        Applicability("E28", "E28", sex: .female, "ovarian dysfunction (E28)"),
        Applicability("N70", "N98", sex: .female, "diseases of the female genital tract (N70-N98)"),
        Applicability("Q50", "Q52", sex: .female, "congenital malformations of female genital organs (Q50-Q52)"),
        Applicability("R87", "R87", sex: .female, "abnormal findings in specimens from female genital organs (R87)"),
        Applicability("Z124", "Z124", sex: .female, "screening for malignant neoplasm of cervix (Z12.4)"),
        // Male genital organs.
        Applicability("C60", "C63", sex: .male, "malignant neoplasms of male genital organs (C60-C63)"),
        Applicability("D074", "D076", sex: .male, "carcinoma in situ of male genital organs (D07.4-D07.6)"),
        Applicability("D29", "D29", sex: .male, "benign neoplasms of male genital organs (D29)"),
        Applicability("D40", "D40", sex: .male, "neoplasm of uncertain behavior of male genital organs (D40)"),
        Applicability("E29", "E29", sex: .male, "testicular dysfunction (E29)"),
        Applicability("N40", "N53", sex: .male, "diseases of male genital organs (N40-N53)"),
        Applicability("Q53", "Q55", sex: .male, "congenital malformations of male genital organs (Q53-Q55)"),
        Applicability("R86", "R86", sex: .male, "abnormal findings in specimens from male genital organs (R86)"),
        Applicability("Z125", "Z125", sex: .male, "screening for malignant neoplasm of prostate (Z12.5)"),
        // The newborn (age 0, as the Medicare Code Editor's newborn edit): a liveborn infant's
        // birth record only then. Chapter 16's conditions may be coded later in life while they
        // persist (Guidelines I.C.16.a.4), so after the first year they are a warning, and an
        // error from age 18.
        Applicability("Z38", "Z38", ages: 0...0, "liveborn infants according to place of birth (Z38)"),
        Applicability("P00", "P96", ages: 0...0, advisory: true, "conditions originating in the perinatal period (P00-P96)"),
    ]

    /// Z codes that may only be the first-listed diagnosis (Guidelines I.C.21.c.16), as
    /// prefixes, with the codes under them that are exempt.
    public static let firstListedOnly: [(prefix: String, except: [String])] = [
        ("Z00", ["Z006"]), ("Z01", []), ("Z02", []), ("Z04", []), ("Z3181", []), ("Z3183", []), ("Z3184", []),
        ("Z332", []), ("Z34", []), ("Z38", []), ("Z39", []), ("Z40", []), ("Z42", []), ("Z510", []), ("Z511", []),
        ("Z52", ["Z529"]), ("Z761", []), ("Z762", []), ("Z9912", []),
    ]

    /// Whether `code` may only be the first-listed diagnosis.
    public static func isFirstListedOnly(_ code: String) -> Bool {
        firstListedOnly.contains { entry in
            code.hasPrefix(entry.prefix) && !entry.except.contains { code.hasPrefix($0) }
        }
    }

    /// Whether `code` is an external cause (Chapter 20, V00-Y99), which is never first-listed.
    public static func isExternalCause(_ code: String) -> Bool {
        guard let first = code.first else { return false }
        return first == "V" || first == "W" || first == "X" || first == "Y"
    }

    /// The sex- and age-specific range `code` falls in, if any.
    public static func applicability(of code: String) -> Applicability? {
        applicability.first { $0.contains(code) }
    }

    /// Whole years from `birth` to `date` (0 in the first year of life).
    public static func age(born birth: CalendarDate, on date: CalendarDate) -> Int {
        var years = date.year - birth.year
        if (date.month, date.day) < (birth.month, birth.day) { years -= 1 }
        return years
    }
}
