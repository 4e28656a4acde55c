"""The wizard on screen: Textual steps that edit an Answers draft."""
