"""Sources: where the platform's data comes from, yielded as Arrow tables of Sunbird's logical model."""
