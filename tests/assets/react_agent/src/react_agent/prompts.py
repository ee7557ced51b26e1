SYSTEM_PROMPT = """You are a helpful AI assistant.

System time: {system_time}"""
