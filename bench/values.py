"""Pools of realistic values: people's names, schools, courses, places."""

from __future__ import annotations

import unicodedata

FIRST_NAMES = (
    "Ora Beulah Craig Daisy Amy Harry Liam Olivia Noah Emma Oliver Ava Elijah Sophia Lucas "
    "Isabella Mason Mia Logan Charlotte Ethan Amelia Aiden Harper James Evelyn Jacob Abigail "
    "Michael Emily Daniel Ella Henry Elizabeth Jackson Camila Sebastian Luna Alexander Sofia "
    "Owen Avery Samuel Mila Matthew Aria Joseph Scarlett Levi Penelope David Layla John Chloe "
    "Wyatt Victoria Carter Madison Julian Eleanor Luke Grace Grayson Nora Isaac Riley Jayden "
    "Zoey Theodore Hannah Gabriel Hazel Anthony Lily Dylan Ellie Leo Violet Lincoln Lillian "
    "Jaxon Zoë Asher Stella Christopher Aurora Josiah Natalie Andrew Emilia Thomas Everly "
    "Joshua Leah Ezra Aubrey Hudson Willow Charles Addison Caleb Lucy Isaiah Audrey Ryan Bella "
    "Nathan Nova Adrian Brooklyn Christian Paisley Maverick Savannah Colton Claire Elias Skylar "
    "Aaron Isla Eli Genesis Landon Naomi Jonathan Elena Nolan Caroline Hunter Eliana Cameron "
    "Anna Connor Maya Santiago Valentina Jeremiah Ruby Ezekiel Kennedy Angel Ivy Roman Ariana "
    "Easton Aaliyah Miles Cora Robert Madelyn Jameson Alice Nicholas Kinsley Greyson Hailey "
    "José María Renée Chloé Zoë Ángel Siobhán Mary-Kate Jean-Luc Anne-Marie Nguyễn Björn "
    "Søren Łukasz François Inés Raúl Mateo Camille Aarav Priya Wei Mei Hiroshi Yuki Fatima "
    "Omar Aisha Kwame Amara Chidi Ngozi Dmitri Anastasia Sven Ingrid Kai Leilani"
).split()

LAST_NAMES = (
    "Klein McMillan Beane Todd Roebuck James Smith Johnson Williams Brown Jones Garcia Miller "
    "Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore "
    "Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker "
    "Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz "
    "Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan "
    "Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks "
    "Chavez Wood Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers "
    "Long Ross Foster Jimenez O'Brien O'Neil D'Angelo McDonald MacLeod Smith-Jones "
    "García-López Müller Søndergaard Nuñez Peña Kowalski Dubois Lefèvre Rossi Bianchi Tanaka "
    "Suzuki Yamamoto Chen Wang Zhang Liu Singh Kumar Sharma Okafor Mensah Abubakar Haddad "
    "Nakamura Ivanov Petrov Larsen Johansson Eriksson Novak Horvat Kovács Schmidt Fischer"
).split() + ["Van Der Berg", "De La Cruz", "St. John"]

MIDDLE_NAMES = ("Christopher Lynn James Francis Marie Ann Lee Rose Grace Michael Joseph Elizabeth "
                "Alexander Louise Jane Ray Mae Paul Jean Kay").split()

SCHOOL_NAMES = (
    "Contoso Fabrikam Lincoln Washington Jefferson Roosevelt Kennedy Franklin Madison Adams "
    "Lakeside Riverside Hillcrest Maple Oakwood Cedar Evergreen Pinecrest Sunnyvale Westview "
    "Eastlake Northgate Southridge Meadowbrook Willow Creek Bayview Highland Valley Summit"
).split()
SCHOOL_LEVELS = (("Elementary School", 0, 5), ("Middle School", 6, 8), ("High School", 9, 12))

CITIES = (("Redmond", "WA", "98052"), ("Seattle", "WA", "98101"), ("Bellevue", "WA", "98004"),
          ("Tacoma", "WA", "98402"), ("Spokane", "WA", "99201"), ("Olympia", "WA", "98501"),
          ("Portland", "OR", "97201"), ("Boise", "ID", "83702"))
STREETS = ("Microsoft Way", "Main Street", "Oak Avenue", "School Road", "Maple Drive",
           "Lincoln Boulevard", "Park Lane", "1st Avenue NE", "Cedar Court")

# (subject, course SIS ID stem, course names with descriptions)
COURSES = (
    ("Math", "MATH", (
        ("Algebra 1", "Algebra, Level 1"), ("Algebra 2", "Algebra, Level 2"),
        ("Geometry", "Plane geometry and proofs"),
        ("Pre-Calculus", "Functions, trigonometry and limits"),
        ("Statistics", "Intro to statistics"),
    )),
    ("English", "ENG", (
        ("English 9", "Literature and composition"), ("English 10", "World literature"),
        ("Creative Writing", "Poetry, fiction and drama"),
    )),
    ("Science", "SCI", (
        ("Biology", "Life science with lab"), ("Chemistry", "Chemistry with lab"),
        ("Physics", "Mechanics, waves and electricity"),
    )),
    ("Social Studies", "SOC", (
        ("US History", "United States history"), ("World History", "Ancient to modern"),
        ("Civics", "Government and citizenship"),
    )),
    ("World Languages", "LANG", (
        ("Spanish 1", "Introductory Spanish"), ("French 1", "Introductory French"),
        ("Japanese 1", "Introductory Japanese"),
    )),
    ("Arts", "ART", (
        ("Studio Art", "Drawing, painting and sculpture"), ("Band", "Concert band"),
        ("Choir", "Vocal music"),
    )),
    ("Physical Education", "PE", (
        ("PE", "Fitness and team sports"), ("Health", "Health and wellness"),
    )),
    ("Computer Science", "CS", (
        ("Computer Science", "Programming in Python"),
        ("Robotics", "Engineering design and robotics"),
    )),
)

TITLES = ("Teacher", "Teacher", "Teacher", "Lead Teacher", "Department Head", "Instructional Coach")
QUALIFICATIONS = ("BA Education", "MA Education", "MS Mathematics", "BS Biology", "MEd",
                  "National Board Certified", "")
DEPARTMENTS = ("Mathematics", "English", "Science", "Social Studies", "Arts", "PE")
PASSWORD_WORDS = ("Spring", "Summer", "Autumn", "Winter", "Falcon", "River", "Maple", "Comet",
                  "Harbor", "Tiger")
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "contoso.com")


def ascii_fold(name: str) -> str:
    """The name as ASCII letters and `'` / `-` only, as districts derive usernames."""
    plain = name.translate(_NOT_DECOMPOSABLE)
    decomposed = unicodedata.normalize("NFKD", plain)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in "'-")) or "x"


_NOT_DECOMPOSABLE = str.maketrans({"Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "ß": "ss"})
