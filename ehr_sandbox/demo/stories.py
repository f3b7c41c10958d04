"""The synthetic people of the demo clinic, one row per patient story.

Every person here is invented. The stories are drawn from the coproduction focus-group
study (`shared/seed/coproduction-focus-group-study.txt`): the infant living hours away,
the teen travelling for lacrosse, the 25-year-old losing insurance at 26, the wedding,
the raw home-monitoring data. Clinical values are plausible, never real. Each row also
holds the person's pre-visit answers (what the teen, and separately a parent, typed into
the portal before the visit), so a row keeps the whole story in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Diagnosis(Enum):
    """The conditions the clinic follows, as SNOMED CT concepts."""

    CYSTIC_FIBROSIS = ("190905008", "Cystic fibrosis")
    CROHNS_DISEASE = ("34000006", "Crohn's disease")
    ULCERATIVE_COLITIS = ("64766004", "Ulcerative colitis")

    @property
    def code(self) -> str:
        """The SNOMED CT code."""
        return self.value[0]

    @property
    def display(self) -> str:
        """The SNOMED CT display text."""
        return self.value[1]


@dataclass(frozen=True, slots=True)
class Clinician:
    """A member of the clinic's care team."""

    slug: str
    given: str
    family: str
    role: str  # as the EHR shows it: "Physician", "Respiratory therapist", ...
    prefix: str = ""


@dataclass(frozen=True, slots=True)
class Parent:
    """A parent or other family member who comes to visits (a RelatedPerson)."""

    given: str
    family: str
    gender: str
    # v3 RoleCode: MTH mother, FTH father, PRN parent, GRMTH grandmother...
    relationship: str


@dataclass(frozen=True, slots=True)
class Measurement:
    """One observation: `kind` is a key of OBSERVATION_KINDS, `days_ago` before today."""

    kind: str
    value: float
    days_ago: int = 0


@dataclass(frozen=True, slots=True)
class PreVisitAnswer:
    """One pre-visit QuestionnaireResponse: `by` 0 is the patient, n the story's n-th parent."""

    by: int
    days_ago: int  # authored at 19:30 local time, this many days before the visit
    concern: str | None = None  # the number ONE concern, in the person's own words
    no_concern: bool = False  # "I have no current concerns or goals"
    others: tuple[str, ...] = ()
    partnering: str | None = None  # a code of Flip's partnering-style CodeSystem
    learning: tuple[str, ...] = ()  # codes of Flip's learning-preference CodeSystem
    share_with_family: bool = True  # False: a teen keeps answers for the care team only


@dataclass(frozen=True, slots=True)
class PatientStory:
    """One synthetic patient, their family, diagnosis and today's visit."""

    slug: str
    given: str
    family: str
    gender: str
    age_years: int
    age_months: int
    diagnosis: Diagnosis
    clinician: str  # slug of the Clinician the visit is booked with
    visit_time: str  # "HH:MM", local clinic time today
    reason: str  # the clinician's words, as booked
    story: str  # why this person is in the demo (shown to testers, not in FHIR)
    parents: tuple[Parent, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    previsit: tuple[PreVisitAnswer, ...] = ()  # none at all for some people
    # A US Core care experience preference already in the chart, in the clinician's words.
    care_preference: str | None = None
    city: str = "Lebanon"
    state: str = "NH"


CARE_TEAM: tuple[Clinician, ...] = (
    Clinician("physician", "Maya", "Okafor", "Physician", prefix="Dr."),
    Clinician("gastroenterologist", "Samuel", "Reyes", "Physician", prefix="Dr."),
    Clinician("nurse", "Grace", "Whitfield", "Nurse"),
    Clinician("respiratory-therapist", "Owen", "Baptiste", "Respiratory therapist"),
    Clinician("dietitian", "Priya", "Raman", "Dietitian"),
    Clinician("social-worker", "Helen", "Marsh", "Social worker"),
)

STORIES: tuple[PatientStory, ...] = (
    PatientStory(
        "ada-lindqvist",
        "Ada",
        "Lindqvist",
        "female",
        0,
        5,
        Diagnosis.CYSTIC_FIBROSIS,
        "physician",
        "08:30",
        "Follow-up after bronchiolitis admission; weight gain and enzyme dosing",
        "An infant with CF, back home after two admissions; the family lives hours away.",
        parents=(
            Parent("Karin", "Lindqvist", "female", "MTH"),
            Parent("Erik", "Lindqvist", "male", "FTH"),
        ),
        measurements=(Measurement("weight", 6.4, 0), Measurement("weight", 6.1, 21)),
        city="Colebrook",
        previsit=(
            PreVisitAnswer(1, 2, "I'm worried about her weight gain. Is she getting enough?"),
            PreVisitAnswer(2, 3, "We live three hours away. What do we do if she gets sick again?"),
        ),
    ),
    PatientStory(
        "leo-marchetti",
        "Leo",
        "Marchetti",
        "male",
        6,
        3,
        Diagnosis.CYSTIC_FIBROSIS,
        "physician",
        "09:00",
        "Quarterly CF visit; throat culture; starting school",
        "A child starting first grade; his father wonders how to do treatments at school.",
        parents=(Parent("Marco", "Marchetti", "male", "FTH"),),
        measurements=(Measurement("weight", 20.5, 0), Measurement("fev1_pct", 96, 0)),
        previsit=(PreVisitAnswer(1, 4, "How does he do his treatments and enzymes at school?"),),
    ),
    PatientStory(
        "sofia-haddad",
        "Sofia",
        "Haddad",
        "female",
        9,
        8,
        Diagnosis.CYSTIC_FIBROSIS,
        "physician",
        "09:30",
        "Quarterly CF visit; annual nutrition evaluation",
        "A child who is a picky eater; her mother is worried about her weight.",
        parents=(Parent("Leila", "Haddad", "female", "MTH"),),
        measurements=(Measurement("weight", 27.8, 0), Measurement("fev1_pct", 91, 0)),
    ),
    PatientStory(
        "tyler-brooks",
        "Tyler",
        "Brooks",
        "male",
        15,
        4,
        Diagnosis.CYSTIC_FIBROSIS,
        "physician",
        "10:00",
        "FEV1 down from last visit; review airway clearance adherence",
        "A teen who travels for lacrosse and does not want to take his airway-clearance vest.",
        parents=(Parent("Dana", "Brooks", "female", "MTH"),),
        measurements=(
            Measurement("fev1_pct", 84, 0),
            Measurement("fev1_pct", 92, 91),
            Measurement("weight", 58.2, 0),
        ),
        previsit=(
            PreVisitAnswer(
                0, 1, "Lacrosse travel this summer. I don't want to bring the vest on the bus."
            ),
            PreVisitAnswer(1, 2, "His lung numbers dropped and he skips the vest most nights."),
        ),
    ),
    PatientStory(
        "jack-oconnell",
        "Jack",
        "O'Connell",
        "male",
        17,
        10,
        Diagnosis.CYSTIC_FIBROSIS,
        "physician",
        "10:30",
        "Second positive NTM culture; PFTs declining; baseline DEXA before 18",
        "A senior in high school who plays hockey and suppresses his cough in class.",
        parents=(Parent("Maureen", "O'Connell", "female", "MTH"),),
        measurements=(
            Measurement("fev1_pct", 68, 0),
            Measurement("fev1_pct", 79, 84),
            Measurement("weight", 63.0, 0),
        ),
        previsit=(
            PreVisitAnswer(
                0,
                3,
                "I hold in my cough at school so nobody notices. Is that bad for my lungs?",
                share_with_family=False,
            ),
        ),
    ),
    PatientStory(
        "ethan-kowalski",
        "Ethan",
        "Kowalski",
        "male",
        19,
        2,
        Diagnosis.CYSTIC_FIBROSIS,
        "respiratory-therapist",
        "11:00",
        "Annual studies moved up; medication refills before insurance change",
        "His parent's employer is ending their health insurance; the social worker is helping.",
        parents=(Parent("Linda", "Kowalski", "female", "MTH"),),
        measurements=(Measurement("fev1_pct", 88, 0), Measurement("weight", 66.5, 0)),
        previsit=(
            PreVisitAnswer(
                0,
                2,
                "My mom's work insurance is ending. Will I still get my meds?",
                partnering="bring-questions",
                learning=("talk-it-through",),
            ),
        ),
    ),
    PatientStory(
        "mia-thompson",
        "Mia",
        "Thompson",
        "female",
        25,
        6,
        Diagnosis.CYSTIC_FIBROSIS,
        "physician",
        "13:00",
        "Routine CF visit; sputum culture; review modulator therapy",
        "A 25-and-a-half-year-old whose insurance on her parent's plan ends at 26.",
        measurements=(Measurement("fev1_pct", 74, 0), Measurement("weight", 54.1, 0)),
        city="Manchester",
        previsit=(
            PreVisitAnswer(0, 5, "I don't have insurance when I turn 26. What about my modulator?"),
        ),
    ),
    PatientStory(
        "daniel-ng",
        "Daniel",
        "Ng",
        "male",
        31,
        0,
        Diagnosis.CYSTIC_FIBROSIS,
        "physician",
        "13:30",
        "Review home spirometry readings; question of exacerbation",
        "An adult who brings raw home-monitoring data; the clinician wants it before the visit.",
        measurements=(
            Measurement("fev1_pct", 62, 0),
            Measurement("home_fev1", 2.41, 1),
            Measurement("home_fev1", 2.35, 3),
            Measurement("home_fev1", 2.52, 6),
            Measurement("home_fev1", 2.60, 9),
            Measurement("weight", 70.2, 0),
        ),
        city="Concord",
        previsit=(
            PreVisitAnswer(
                0,
                1,
                "My home spirometer numbers have dropped all week. I can send you the readings.",
                learning=("pictures-or-video",),
            ),
        ),
    ),
    PatientStory(
        "rosa-alvarez",
        "Rosa",
        "Alvarez",
        "female",
        44,
        7,
        Diagnosis.CYSTIC_FIBROSIS,
        "dietitian",
        "14:00",
        "CF-related diabetes follow-up; weight and diet review",
        "An adult who prefers not to be as active a partner and likes to hear from her doctor.",
        measurements=(Measurement("weight", 57.9, 0), Measurement("fev1_pct", 58, 30)),
        care_preference=(
            "Prefers not to be as active a partner; likes to hear more from her doctor first."
        ),
    ),
    PatientStory(
        "noah-bennett",
        "Noah",
        "Bennett",
        "male",
        13,
        9,
        Diagnosis.CROHNS_DISEASE,
        "gastroenterologist",
        "09:15",
        "Crohn's follow-up; growth check; infusion schedule",
        "A young teen taking over from his father, who usually does the talking.",
        parents=(Parent("Paul", "Bennett", "male", "FTH"),),
        measurements=(Measurement("weight", 41.3, 0), Measurement("weight", 40.1, 120)),
        previsit=(
            PreVisitAnswer(0, 2, "Can I go on the school ski trip?"),
            PreVisitAnswer(1, 2, no_concern=True),
        ),
    ),
    PatientStory(
        "lily-chen",
        "Lily",
        "Chen",
        "female",
        16,
        1,
        Diagnosis.ULCERATIVE_COLITIS,
        "gastroenterologist",
        "10:15",
        "Ulcerative colitis in remission; lab review",
        "A teen with no current concern; her parent answers the questions too.",
        parents=(Parent("Wei", "Chen", "female", "PRN"),),
        measurements=(Measurement("weight", 52.6, 0),),
        previsit=(
            PreVisitAnswer(0, 1, no_concern=True),
            PreVisitAnswer(1, 4, "Her labs were good. Can we space out the visits?"),
        ),
    ),
    PatientStory(
        "hannah-price",
        "Hannah",
        "Price",
        "female",
        29,
        4,
        Diagnosis.ULCERATIVE_COLITIS,
        "gastroenterologist",
        "11:15",
        "Ulcerative colitis flare; discuss escalating therapy",
        "An adult with her wedding coming up in two months, worried about a flare that day.",
        measurements=(Measurement("weight", 61.0, 0), Measurement("weight", 63.4, 60)),
        city="Burlington",
        state="VT",
        previsit=(
            PreVisitAnswer(
                0,
                3,
                "My wedding is in two months. How do I keep from flaring that day?",
                partnering="talk-options",
                learning=("written",),
            ),
        ),
    ),
    PatientStory(
        "marcus-johnson",
        "Marcus",
        "Johnson",
        "male",
        38,
        11,
        Diagnosis.CROHNS_DISEASE,
        "gastroenterologist",
        "13:15",
        "Crohn's follow-up; imaging results; surgical consult question",
        "An adult who Googles everything and brings it to talk about; worried about surgery.",
        measurements=(Measurement("weight", 78.4, 0),),
        previsit=(
            PreVisitAnswer(
                0,
                1,
                "Do I need surgery? I Google everything and I'm bringing what I found.",
                others=("What does the new biologic cost?",),
                partnering="research-and-bring-ideas",
                learning=("read-myself",),
            ),
        ),
    ),
)


def clinician_by_slug(slug: str) -> Clinician:
    """The care-team member with this slug (KeyError if none)."""
    for clinician in CARE_TEAM:
        if clinician.slug == slug:
            return clinician
    raise KeyError(slug)
