"""Stand-in for the warehouse application: `import warehouse` then
warehouse.utils.db.types.TZDateTime."""
import warehouse.utils.db.types  # noqa: F401
