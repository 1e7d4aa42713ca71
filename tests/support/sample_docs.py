"""Real PDF and Word files made on the spot (reportlab, python-docx) for format and connector tests.

Each builder returns the file's bytes; what it writes is what the tests then look for.
"""

from __future__ import annotations

import io

__all__ = ["handbook_pdf", "manual_pdf", "scanned_pdf", "runbook_docx"]


def handbook_pdf(chapters: dict[str, list[str]] | None = None, title: str = "Operations Handbook") -> bytes:
    """A PDF with one page per chapter, each chapter a level-1 outline entry (the bookmarks pane)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    chapters = chapters or {
        "Getting started": ["Every new engineer gets a laptop on day one.", "Badges are issued at reception."],
        "Incident response": ["Page the on-call engineer through PagerDuty.", "The escalation window is 15 minutes."],
        "Backups": ["Snapshots of the orders database run every hour.", "Restores are tested each quarter."],
    }
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    for number, (chapter, lines) in enumerate(chapters.items()):
        key = f"chapter-{number}"
        pdf.bookmarkPage(key)
        pdf.addOutlineEntry(chapter, key, level=0)
        pdf.setFont("Helvetica-Bold", 18)
        pdf.drawString(72, 760, chapter)
        pdf.setFont("Helvetica", 11)
        for row, line in enumerate(lines):
            pdf.drawString(72, 730 - 16 * row, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def scanned_pdf(pages: int = 2) -> bytes:
    """A PDF of drawings only, like a scan without OCR: no text layer at all."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for _ in range(pages):
        for row in range(40):
            pdf.rect(72, 760 - 16 * row, 300 + (row * 37) % 150, 9, fill=1)  # lines of "ink"
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def runbook_docx(extra_paragraph: str = "") -> bytes:
    """A Word runbook with a title, headings, a bulleted and a numbered list, and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Database Runbook"
    document.add_paragraph("Database Runbook", style="Title")
    document.add_paragraph("Failover", style="Heading 1")
    document.add_paragraph("Promote the replica when the primary is down for 5 minutes.")
    document.add_paragraph("Check replication lag first", style="List Bullet")
    document.add_paragraph("Tell the incident channel", style="List Bullet")
    document.add_paragraph("Maintenance", style="Heading 1")
    document.add_paragraph("Stop the writers", style="List Number")
    document.add_paragraph("Run VACUUM FULL on the orders table", style="List Number")
    document.add_paragraph("Limits", style="Heading 2")
    table = document.add_table(rows=3, cols=2)
    for row, (key, value) in enumerate([("Setting", "Value"), ("max_connections", "400"), ("work_mem", "64MB")]):
        table.cell(row, 0).text = key
        table.cell(row, 1).text = value
    if extra_paragraph:
        document.add_paragraph(extra_paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def manual_pdf() -> bytes:
    """A printed manual: a running header with the page number, and numbered headings that the
    outline leaves unnumbered."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle("Platform Manual")
    chapters = [("Installing", ["Download the installer.", "- Linux: run install.sh", "- macOS: open the .pkg"])]
    chapters += [("Upgrading", ["Back up the config first.", "- Stop the agent", "- Replace the binary"])]
    chapters += [("Removing", ["Run uninstall.sh as root.", "Logs stay in /var/log/platform."])]
    for number, (chapter, lines) in enumerate(chapters, start=1):
        key = f"chapter-{number}"
        pdf.bookmarkPage(key)
        pdf.addOutlineEntry(chapter, key, level=0)
        pdf.setFont("Helvetica", 9)
        pdf.drawString(72, 800, f"Platform Manual, version 2 {number + 2}")  # the running header
        pdf.setFont("Helvetica-Bold", 16)
        pdf.drawString(72, 760, f"{number} {chapter}")
        pdf.setFont("Helvetica", 11)
        for row, line in enumerate(lines):
            pdf.drawString(72, 730 - 16 * row, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
