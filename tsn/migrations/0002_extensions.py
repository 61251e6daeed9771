from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Accent- and typo-tolerant search (directory, identity vigilance) needs these."""

    dependencies = [("tsn", "0001_initial")]

    operations = [UnaccentExtension(), TrigramExtension()]
