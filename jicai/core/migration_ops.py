"""Migration operations that convert stored data, not only the schema."""

from django.db import migrations


class AlterToScaledInteger(migrations.AlterField):
    """Turn a decimal column into a core.fields.ScaledDecimalField, multiplying every stored value by
    10^places exactly. A plain AlterField would not scale, and PostgreSQL's numeric → bigint cast would
    round 38.94 to 39."""

    def __init__(self, model_name, name, field, places, preserve_default=True):
        self.places = places
        super().__init__(model_name, name, field, preserve_default)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        kwargs["places"] = self.places
        return name, args, kwargs

    def _column(self, app_label, state, schema_editor):
        model = state.apps.get_model(app_label, self.model_name)
        quote = schema_editor.quote_name
        return quote(model._meta.db_table), quote(model._meta.get_field(self.name).column)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        table, column = self._column(app_label, to_state, schema_editor)
        factor = 10**self.places
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE bigint USING ROUND({column} * {factor})::bigint"
            )
            return
        schema_editor.execute(
            f"UPDATE {table} SET {column} = CAST(ROUND({column} * {factor}) AS INTEGER) WHERE {column} IS NOT NULL"
        )
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        table, column = self._column(app_label, from_state, schema_editor)
        old = to_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        factor = 10**self.places
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE numeric({old.max_digits}, {old.decimal_places}) "
                f"USING {column}::numeric / {factor}"
            )
            return
        # AlterField.database_backwards would call our database_forwards (scaling again): alter the column
        # back with the plain AlterField step, from the scaled state to the decimal one.
        super().database_forwards(app_label, schema_editor, from_state, to_state)
        schema_editor.execute(
            f"UPDATE {table} SET {column} = {column} / {factor}.0 WHERE {column} IS NOT NULL"
        )

    def describe(self):
        return f"Scale {self.model_name}.{self.name} to an integer of 10^-{self.places} units"
