"""Video, image and audio readers/writers, project files, motion import/export."""
