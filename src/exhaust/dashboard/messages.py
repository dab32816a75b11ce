"""Every text the dashboard shows, in one catalogue (English, and Hindi for the page chrome).

Templates call `t("key", name=value)`; a key missing in a language falls back to English, and a key
missing everywhere shows the key itself, so a typo is visible rather than an error page. The language
comes from the `lang` query parameter or the browser's Accept-Language (English by default).
"""

from __future__ import annotations

from collections.abc import Callable

DEFAULT = "en"

EN: dict[str, str] = {
    "app.title": "Course dashboard",
    "nav.courses": "Courses",
    "nav.ratio": "Download ratio",
    "nav.signout": "Sign out",
    "nav.skip": "Skip to content",
    "nav.signed_in": "Signed in as {user} ({roles}) in {channel}",
    "signin.title": "Sign in",
    "signin.intro": "Paste the API token you were given (from exhaust token create).",
    "signin.token": "API token",
    "signin.submit": "Sign in",
    "signin.bad_token": "That token is not valid or has been revoked.",
    "signin.no_user": "Service tokens cannot sign in to the dashboard; use a user token.",
    "signin.signed_out": "You have signed out.",
    "signin.expired": "Please sign in to continue.",
    "courses.title": "Courses and batches",
    "courses.search": "Search courses and batches",
    "courses.search_button": "Search",
    "courses.none": "No course or batch matches.",
    "courses.course": "Course",
    "courses.batch": "Batch",
    "courses.enrolled": "Enrolled",
    "courses.completed": "Completed",
    "courses.open": "Open batch {name}",
    "batch.title": "Batch {name}",
    "batch.course": "Course: {name}",
    "batch.summary": "Summary",
    "batch.enrolled": "Enrolled",
    "batch.completed": "Completed",
    "batch.percent": "Completion",
    "batch.certificates": "Certificates issued",
    "batch.distribution": "Progress distribution",
    "batch.distribution_caption": "Learners by course progress (%)",
    "batch.progress": "Progress (%)",
    "batch.learners": "Learners",
    "batch.districts": "Completion by district",
    "batch.blocks": "Completion by block",
    "batch.area_district": "District",
    "batch.area_block": "Block",
    "batch.unknown_area": "Not given",
    "batch.area_percent": "Completion (%)",
    "batch.top_areas": "The chart shows the {shown} largest of {total}; the table has them all.",
    "batch.area_table": "Table of all {count}",
    "batch.reports": "Reports",
    "batch.download": "Download File",
    "batch.download_label": "Download File: {report}",
    "batch.password": "Password for the zip file of {report}",
    "batch.password_hint": "You will need this password to open the file. It is not stored in the page.",
    "batch.requests": "Requests of this batch",
    "batch.no_requests": "No report has been requested for this batch yet.",
    "batch.requested": "Requested",
    "batch.report": "Report",
    "batch.status": "Status",
    "batch.files": "Files",
    "batch.file_link": "Download {name}",
    "batch.queued": "Your request for the {report} was queued.",
    "batch.refreshing": "This list refreshes by itself while a request is running.",
    "batch.figures_at": "Figures as of {time} (kept for up to {seconds} s).",
    "report.progress-exhaust": "Progress report",
    "report.course-mentor": "Course mentor report",
    "report.userinfo-exhaust": "User info report",
    "report.response-exhaust": "Response report",
    "status.SUBMITTED": "Queued",
    "status.PROCESSING": "Running ({progress}%)",
    "status.SUCCESS": "Ready",
    "status.FAILED": "Failed: {message}",
    "ratio.title": "Download ratio per batch",
    "ratio.intro": "Report files downloaded divided by batches with at least one enrolment.",
    "ratio.from": "From",
    "ratio.to": "To",
    "ratio.show": "Show",
    "ratio.csv": "Download as CSV",
    "ratio.overall": "Overall",
    "ratio.over_time": "Downloads per batch, by day",
    "ratio.day": "Day",
    "ratio.per_course": "Per course",
    "ratio.per_tenant": "Per tenant",
    "ratio.name": "Name",
    "ratio.downloads": "Downloads",
    "ratio.clicks": "Download File clicks",
    "ratio.batches": "Batches",
    "ratio.ratio": "Ratio",
    "ratio.none": "–",
    "error.title": "Something is not right",
    "error.forbidden": "You are not authorized to see this batch.",
    "error.not_found": "There is no such batch.",
    "error.ratio_forbidden": "The download ratio is shown to org admins of the channel.",
    "error.csrf": "The form had expired or did not come from this site; please try again.",
    "error.no_hierarchy": "This batch's course has no content hierarchy, so its figures cannot be shown.",
    "error.source_down": "The platform data could not be read just now; please try again shortly.",
    "error.back": "Back to the courses",
}

HI: dict[str, str] = {
    "app.title": "पाठ्यक्रम डैशबोर्ड",
    "nav.courses": "पाठ्यक्रम",
    "nav.ratio": "डाउनलोड अनुपात",
    "nav.signout": "साइन आउट",
    "nav.skip": "सामग्री पर जाएँ",
    "signin.title": "साइन इन",
    "signin.token": "API टोकन",
    "signin.submit": "साइन इन",
    "courses.title": "पाठ्यक्रम और बैच",
    "courses.enrolled": "नामांकित",
    "courses.completed": "पूर्ण",
    "batch.enrolled": "नामांकित",
    "batch.completed": "पूर्ण",
    "batch.certificates": "जारी प्रमाणपत्र",
    "batch.download": "फ़ाइल डाउनलोड करें",
}

CATALOGUE: dict[str, dict[str, str]] = {"en": EN, "hi": HI}


def choose_language(query: str | None, accept: str | None) -> str:
    """A language of the catalogue: the `lang` parameter, else the first known Accept-Language entry."""
    if query and query in CATALOGUE:
        return query
    for part in (accept or "").split(","):
        code = part.split(";", 1)[0].strip().lower().split("-", 1)[0]
        if code in CATALOGUE:
            return code
    return DEFAULT


def translator(language: str) -> Callable[..., str]:
    """`t(key, **values)` for one language."""
    texts = CATALOGUE.get(language, EN)

    def t(key: str, **values: object) -> str:
        text = texts.get(key) or EN.get(key) or key
        return text.format(**values) if values else text

    return t
