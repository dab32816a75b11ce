"""Word lists behind the demo data: Indian states and districts, people's names, school name patterns.

Real state and district names with their UDISE state codes make the data look like a DIKSHA
deployment; blocks, clusters (villages) and schools are composed from these lists.
"""

from __future__ import annotations

# (state, UDISE state code, two-letter code, tenant org name, state board, districts)
STATES: tuple[tuple[str, str, str, str, str, tuple[str, ...]], ...] = (
    (
        "Karnataka",
        "29",
        "KA",
        "Samagra Shikshana Karnataka",
        "State (Karnataka)",
        ("Bengaluru Urban", "Mysuru", "Belagavi", "Kalaburagi", "Dharwad", "Tumakuru", "Mandya", "Udupi"),
    ),
    (
        "Uttar Pradesh",
        "09",
        "UP",
        "Basic Shiksha Parishad Uttar Pradesh",
        "State (Uttar Pradesh)",
        ("Lucknow", "Varanasi", "Prayagraj", "Agra", "Kanpur Nagar", "Gorakhpur", "Bareilly", "Jhansi"),
    ),
    (
        "Maharashtra",
        "27",
        "MH",
        "SCERT Maharashtra",
        "State (Maharashtra)",
        ("Pune", "Nashik", "Nagpur", "Chhatrapati Sambhajinagar", "Kolhapur", "Solapur", "Thane"),
    ),
    (
        "Tamil Nadu",
        "33",
        "TN",
        "Samagra Shiksha Tamil Nadu",
        "State (Tamil Nadu)",
        ("Chennai", "Coimbatore", "Madurai", "Tiruchirappalli", "Salem", "Tirunelveli", "Vellore"),
    ),
    (
        "Rajasthan",
        "08",
        "RJ",
        "Rajasthan Council of School Education",
        "State (Rajasthan)",
        ("Jaipur", "Jodhpur", "Udaipur", "Ajmer", "Bikaner", "Kota"),
    ),
    (
        "Andhra Pradesh",
        "28",
        "AP",
        "Samagra Shiksha Andhra Pradesh",
        "State (Andhra Pradesh)",
        ("Visakhapatnam", "Krishna", "Guntur", "Chittoor", "Anantapur", "Kurnool"),
    ),
)

CUSTODIAN_ORG_NAME = "Custodian Organisation"

# Place-name parts for blocks and villages (clusters are named after their main village).
PLACE_STARTS = (
    "Ram", "Krishna", "Shiv", "Hanuman", "Devi", "Sita", "Lakshmi", "Gopal", "Chandra", "Surya",
    "Bhim", "Anand", "Hari", "Kesha", "Madhav", "Nanda", "Raghu", "Sundar", "Vijay", "Shanti",
    "Mallik", "Hosa", "Kottur", "Chinna", "Pedda", "Nava", "Bada", "Chhota", "Kalyan", "Dharma",
)  # fmt: skip
PLACE_ENDS = (
    "pur", "nagar", "garh", "halli", "palle", "ganj", "abad", "wadi", "kota", "puram",
    "gaon", "pet", "kheda", "gudi", "kere", "patti", "war", "sar", "ner", "valasa",
)  # fmt: skip

# School name patterns per state code; {v} is the village, {d} the district, {b} the block.
SCHOOL_PATTERNS: dict[str, tuple[str, ...]] = {
    "KA": ("GHPS {v}", "GLPS {v}", "GHS {v}", "KPS {v}", "GMHPS {v}"),
    "UP": ("PS {v}", "UPS {v}", "Composite School {v}", "Kanya PS {v}"),
    "MH": ("ZP Primary School {v}", "ZPPS {v}", "ZP Upper Primary School {v}"),
    "TN": ("PUMS {v}", "GHSS {v}", "Panchayat Union Primary School, {v}"),
    "RJ": ("GSSS {v}", "GUPS {v}", "GPS {v}"),
    "AP": ("MPPS {v}", "ZPHS {v}", "MPUPS {v}"),
}
# Names that need CSV quoting: commas, apostrophes and double quotes.
SCHOOL_PATTERNS_DIRTY = (
    "St. Mary's Convent School, {d}",
    'Sri "Saraswathi" Vidya Mandir, {v}',
    "Kendriya Vidyalaya No. 1, {d}",
    "Govt. Model School, {b}",
)

FIRST_NAMES = (
    "Aarav", "Aditi", "Akash", "Ananya", "Anil", "Anita", "Arjun", "Asha", "Bhavana", "Deepak",
    "Divya", "Ganesh", "Geeta", "Harish", "Indu", "Jyoti", "Kavita", "Kiran", "Lakshmi", "Mahesh",
    "Manju", "Meena", "Mohan", "Nagesh", "Neha", "Nirmala", "Pooja", "Prakash", "Pramod", "Priya",
    "Rahul", "Rajesh", "Ramesh", "Rekha", "Renu", "Sandeep", "Sangeeta", "Santosh", "Savita", "Shanthi",
    "Shobha", "Srinivas", "Sunil", "Sunita", "Suresh", "Swati", "Uma", "Usha", "Venkatesh", "Vijaya",
    "Vinod", "Yamuna", "Farhan", "Nasreen", "Imran", "Salma", "Joseph", "Mary", "Gurpreet", "Harjeet",
)  # fmt: skip
LAST_NAMES = (
    "Kumar", "Sharma", "Singh", "Patel", "Reddy", "Naidu", "Gowda", "Iyer", "Pillai", "Yadav",
    "Verma", "Gupta", "Mishra", "Joshi", "Kulkarni", "Deshpande", "Patil", "Shinde", "Jadhav", "Chauhan",
    "Rathore", "Meena", "Das", "Mehta", "Shetty", "Hegde", "Rao", "Nair", "Menon", "Khan",
    "Ansari", "Shaikh", "Fernandes", "D'Souza", "Murugan", "Subramanian", "Krishnan", "Choudhary", "Prasad",
    "Tiwari", "Pandey", "Dubey", "Srivastava", "Bhat", "Naik",
)  # fmt: skip
# Names in Indian scripts (Devanagari, Kannada, Tamil, Telugu), as users type them.
NATIVE_FIRST_NAMES = ("रमेश", "सुनीता", "ज्योती", "ಮಂಜುನಾಥ", "ಲಕ್ಷ್ಮಿ", "முருகன்", "செல்வி", "వెంకటేశ్", "శ్రీదేవి")
NATIVE_LAST_NAMES = ("कुमार", "शर्मा", "ಗೌಡ", "ರಾವ್", "ராஜ்", "రెడ్డి")

EMAIL_DOMAINS = ("gmail.com", "yahoo.co.in", "rediffmail.com", "outlook.com", "gov.in")
NATIONAL_BOARDS = ("CBSE", "ICSE")

USER_TYPES = ("teacher", "administrator", "student", "parent", "other", "teacher,administrator")
USER_TYPE_WEIGHTS = (0.74, 0.08, 0.10, 0.03, 0.03, 0.02)
ADMIN_SUBTYPES = ("hm", "crp", "brc", "deo", "schoolhead")

# Content of the demo courses: what each leaf shows.
LEAF_KINDS: dict[str, tuple[str, str, str]] = {
    # kind: (mimeType, contentType, primaryCategory)
    "video": ("video/mp4", "Resource", "Learning Resource"),
    "youtube": ("video/x-youtube", "Resource", "Learning Resource"),
    "pdf": ("application/pdf", "eTextBook", "eTextbook"),
    "html": ("application/vnd.ekstep.html-archive", "ExplanationResource", "Explanation Content"),
    "h5p": ("application/vnd.ekstep.h5p-archive", "Resource", "Learning Resource"),
    "ecml": ("application/vnd.ekstep.ecml-archive", "Resource", "Learning Resource"),
    "selfassess": ("application/vnd.ekstep.ecml-archive", "SelfAssess", "Course Assessment"),
    "questionset": ("application/vnd.sunbird.questionset", "", "Practice Question Set"),
}

# Question stems with four options; the first option listed is not always the answer (see course.py).
QUESTIONS: tuple[tuple[str, tuple[str, str, str, str]], ...] = (
    ("Which skill is part of foundational numeracy?", ("Counting", "Essay writing", "Map reading", "Typing")),
    (
        "NIPUN Bharat targets foundational learning by the end of",
        ("Grade 3", "Grade 8", "Grade 10", "Grade 12"),
    ),
    ("Oral language development comes before", ("Reading", "Listening", "Speaking", "Gesturing")),
    ("A print-rich classroom helps children to", ("Recognise letters", "Sleep", "Run", "Draw maps")),
    ("Which is a formative assessment?", ("Classroom observation", "Board exam", "Entrance test", "Census")),
    ("Place value is first taught with", ("Bundles of sticks", "Calculus", "Logarithms", "Vectors")),
    ("Phonological awareness means hearing", ("Sounds in words", "Colours", "Shapes", "Numbers")),
    ("The play-way method relies on", ("Activities and games", "Rote learning", "Dictation", "Punishment")),
    ("A learning outcome describes", ("What a child can do", "School timings", "Teacher salary", "Uniforms")),
    ("Which helps school readiness?", ("Vidya Pravesh", "Board exams", "Homework load", "Tuition")),
    ("Shapes around us are learned by", ("Observing objects", "Memorising names", "Copying", "Reciting")),
    ("Parents support reading at home by", ("Reading stories aloud", "Banning books", "Only TV", "Silence")),
)
