"""Included under /chat/ by cxloop.config.urls: the visitor API, the streams, the widget and its demo page."""

from django.urls import path

from cxloop.channels.webchat import views

app_name = "webchat"

urlpatterns = [
    path("widget.js", views.widget_js, name="widget"),
    path("demo/", views.demo, name="demo"),
    path("api/sessions", views.start, name="start"),
    path("api/sessions/<str:session_id>/messages", views.messages, name="messages"),
    path("api/sessions/<str:session_id>/identify", views.identify, name="identify"),
    path("api/sessions/<str:session_id>/close", views.close, name="close"),
    path("api/sessions/<str:session_id>/stream", views.stream, name="stream"),
    path("agent/<str:thread_id>/stream", views.agent_stream, name="agent-stream"),
]
