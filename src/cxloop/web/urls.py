from django.contrib.auth import views as auth_views
from django.urls import path

from cxloop.web.views import (
    admin_pages,
    case_page,
    case_settings,
    case_work,
    cases,
    contact_preferences,
    customers,
    event_types,
    feedback_analytics,
    home,
    inbox,
    merges,
    message_templates,
    profile,
    quarantine,
    routing_settings,
    sla_settings,
    supervisor,
    suppressions,
    timeline,
)
from cxloop.web.views import automation as automation_views
from cxloop.web.views import feedback_loops as loop_views
from cxloop.web.views import feedback_survey_widget as survey_widget_views
from cxloop.web.views import feedback_surveys as survey_views
from cxloop.web.views import journey_editor as journey_editor_views
from cxloop.web.views import journeys as journey_views
from cxloop.web.views import notifications as notification_views
from cxloop.web.views import promises as promise_views

app_name = "web"

_customer = "customers/<str:public_id>/"
_conversation = "inbox/<str:public_id>/"
_quarantined = "settings/quarantine/<str:public_id>/"
_template = "settings/templates/<slug:key>/"
_routing = "settings/routing/"
_case = "cases/<str:case_id>/"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("search/", home.search, name="search"),
    # customers
    path("customers/", customers.customer_list, name="customers"),
    path("customers/new/", customers.customer_new, name="customer-new"),
    path(_customer, customers.customer_detail, name="customer"),
    path(_customer + "delete/", customers.customer_delete, name="customer-delete"),
    path(_customer + "export/", customers.customer_export, name="customer-export"),
    path(_customer + "profile/", profile.profile, name="customer-profile"),
    path(_customer + "attributes/", profile.attributes, name="customer-attributes"),
    path(_customer + "identities/", profile.identity_add, name="customer-identity-add"),
    path(_customer + "identities/<str:identity_id>/verify/", profile.identity_verify, name="customer-identity-verify"),
    path(_customer + "identities/<str:identity_id>/remove/", profile.identity_remove, name="customer-identity-remove"),
    path(_customer + "timeline/", timeline.timeline, name="customer-timeline"),
    path(_customer + "interactions/", timeline.log_interaction, name="customer-log"),
    path(_customer + "merge/", merges.merge_pick, name="customer-merge"),
    path(_customer + "consents/", contact_preferences.consent_record, name="customer-consents"),
    path(_customer + "preference-link/", contact_preferences.preference_link, name="customer-preference-link"),
    path(_customer + "merge/<str:other_id>/", merges.merge_compare, name="customer-merge-compare"),
    # merges
    path("suggestions/", merges.suggestion_list, name="suggestions"),
    path("suggestions/<str:suggestion_id>/", merges.suggestion_detail, name="suggestion"),
    path("suggestions/<str:suggestion_id>/accept/", merges.suggestion_accept, name="suggestion-accept"),
    path("suggestions/<str:suggestion_id>/dismiss/", merges.suggestion_dismiss, name="suggestion-dismiss"),
    path("merges/<str:merge_id>/", merges.merge_detail, name="merge"),
    path("merges/<str:merge_id>/undo/", merges.merge_undo, name="merge-undo"),
    # inbox
    path("inbox/", inbox.inbox, name="inbox"),
    path(_conversation, inbox.conversation, name="conversation"),
    path(_conversation + "messages/", inbox.conversation_messages, name="conversation-messages"),
    path(_conversation + "live/", inbox.conversation_live, name="conversation-live"),
    path(_conversation + "status/", inbox.conversation_status, name="conversation-status"),
    path(_conversation + "assign/", inbox.conversation_assign, name="conversation-assign"),
    path(_conversation + "notes/", inbox.conversation_note, name="conversation-note"),
    path(_conversation + "reply/", inbox.conversation_reply, name="conversation-reply"),
    path(_conversation + "canned/", inbox.conversation_canned, name="conversation-canned"),
    path("attachments/<str:public_id>/", inbox.attachment, name="attachment"),
    # running the instance
    path("audit/", admin_pages.audit, name="audit"),
    path("tokens/", admin_pages.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", admin_pages.token_revoke, name="token-revoke"),
    path("settings/attributes/", admin_pages.attribute_settings, name="attributes"),
    path("settings/attributes/<slug:key>/delete/", admin_pages.attribute_delete, name="attribute-delete"),
    path("settings/event-types/", event_types.event_types, name="event-types"),
    path("settings/event-types/<str:key>/", event_types.event_type_edit, name="event-type"),
    path("settings/quarantine/", quarantine.quarantine, name="quarantine"),
    path(_quarantined + "raw/", quarantine.quarantine_raw, name="quarantine-raw"),
    path(_quarantined + "reprocess/", quarantine.quarantine_reprocess, name="quarantine-reprocess"),
    path(_quarantined + "discard/", quarantine.quarantine_discard, name="quarantine-discard"),
    # outbound messaging settings
    path("settings/templates/", message_templates.template_list, name="templates"),
    path("settings/templates/_customers/", message_templates.template_customers, name="template-customers"),
    path(_template, message_templates.template_detail, name="template"),
    path(_template + "versions/", message_templates.template_version_new, name="template-version-new"),
    path(_template + "preview/", message_templates.template_preview, name="template-preview"),
    path(_template + "compare/", message_templates.template_compare, name="template-compare"),
    path("settings/suppressions/", suppressions.suppression_list, name="suppressions"),
    path("settings/suppressions/add/", suppressions.suppression_add, name="suppression-add"),
    path("settings/suppressions/<str:public_id>/lift/", suppressions.suppression_lift, name="suppression-lift"),
    # cases
    path("cases/", cases.case_list, name="cases"),
    path("cases/new/", cases.case_new, name="case-new"),
    path("cases/bulk/", cases.case_bulk, name="case-bulk"),
    path(_case, case_page.case_detail, name="case"),
    path(_case + "edit/", case_page.case_edit, name="case-edit"),
    path(_case + "status/", case_page.case_status, name="case-status"),
    path(_case + "resolve/", case_page.case_resolve, name="case-resolve"),
    path(_case + "reopen/", case_page.case_reopen, name="case-reopen"),
    path(_case + "handover/", case_page.case_handover, name="case-handover"),
    path(_case + "take/", case_page.case_take, name="case-take"),
    path(_case + "handovers/<int:handover_id>/read/", case_page.handover_ack, name="case-handover-ack"),
    path(_case + "tasks/", case_work.task_add, name="case-task-add"),
    path(_case + "tasks/<int:task_id>/status/", case_work.task_status, name="case-task-status"),
    path(_case + "tasks/<int:task_id>/edit/", case_work.task_edit, name="case-task-edit"),
    path(_case + "tasks/<int:task_id>/move/", case_work.task_move, name="case-task-move"),
    path(_case + "tasks/<int:task_id>/checklist/", case_work.task_checklist, name="case-task-checklist"),
    path(_case + "notes/", case_work.case_note, name="case-note"),
    path(_case + "reply/", case_work.case_reply, name="case-reply"),
    path(_case + "timeline/", case_work.case_timeline_live, name="case-timeline"),
    path(_case + "links/", case_work.case_link, name="case-link"),
    path(_case + "links/<int:link_id>/remove/", case_work.case_unlink, name="case-unlink"),
    path(
        _case + "conversations/<str:conversation_id>/remove/",
        case_work.case_unlink_conversation,
        name="case-unlink-conversation",
    ),
    path(_case + "merge/", case_work.case_merge, name="case-merge"),
    path("board/", supervisor.board, name="board"),
    path("settings/cases/<slug:page>/", case_settings.case_setup, name="setup-cases"),
    path("settings/cases/<slug:page>/<str:key>/<slug:action>/", case_settings.case_setup_row, name="setup-cases-row"),
]

# promises (the customer page's and the case page's Promises panel) and staff notifications
urlpatterns += [
    path(_customer + "promises/", promise_views.promise_new, name="promise-new"),
    path(_customer + "promises-link/", promise_views.promises_link, name="customer-promises-link"),
    path("promises/<str:promise_id>/keep/", promise_views.promise_keep, name="promise-keep"),
    path("promises/<str:promise_id>/cancel/", promise_views.promise_cancel, name="promise-cancel"),
    path("promises/<str:promise_id>/reschedule/", promise_views.promise_reschedule, name="promise-reschedule"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read-all/", notification_views.notification_read_all, name="notifications-read-all"),
    path("notifications/<int:notification_id>/read/", notification_views.notification_read, name="notification-read"),
    path("notifications/<int:notification_id>/open/", notification_views.notification_open, name="notification-open"),
    # routing settings and the agent's availability
    path(_routing, routing_settings.queues, name="routing-queues"),
    path(_routing + "queues/<slug:key>/<slug:action>/", routing_settings.queue_action, name="routing-queue-action"),
    path(_routing + "rules/", routing_settings.rules, name="routing-rules"),
    path(_routing + "rules/<int:rule_id>/", routing_settings.rule_detail, name="routing-rule"),
    path(_routing + "rules/<int:rule_id>/<slug:action>/", routing_settings.rule_action, name="routing-rule-action"),
    path(_routing + "preview/", routing_settings.preview, name="routing-preview"),
    path("me/availability/", routing_settings.my_availability, name="my-availability"),
    # SLA settings: policies, business calendars with holidays, team calendars
    path("settings/sla/", sla_settings.policies, name="sla-policies"),
    path("settings/sla/policies/<int:policy_id>/", sla_settings.policy_detail, name="sla-policy"),
    path("settings/sla/policies/<int:policy_id>/delete/", sla_settings.policy_delete, name="sla-policy-delete"),
    path("settings/sla/calendars/", sla_settings.calendars, name="sla-calendars"),
    path("settings/sla/calendars/<int:calendar_id>/", sla_settings.calendar_detail, name="sla-calendar"),
    path("settings/sla/calendars/<int:calendar_id>/delete/", sla_settings.calendar_delete, name="sla-calendar-delete"),
    path("settings/sla/calendars/<int:calendar_id>/holidays/", sla_settings.holiday_add, name="sla-holiday-add"),
    path(
        "settings/sla/calendars/<int:calendar_id>/holidays/<int:holiday_id>/remove/",
        sla_settings.holiday_remove,
        name="sla-holiday-remove",
    ),
    path("settings/sla/teams/<int:team_id>/", sla_settings.team_calendar, name="sla-team-calendar"),
]

# feedback analytics: scores, verbatims, drivers
urlpatterns += [
    path("feedback/", feedback_analytics.dashboard, name="feedback-dashboard"),
    path("feedback/verbatims/", feedback_analytics.verbatims, name="feedback-verbatims"),
    path("feedback/drivers/", feedback_analytics.drivers, name="feedback-drivers"),
]

# the closed loop: follow-ups (also on the follow-up case's page) and the follow-up rules
_loop = "feedback/loops/<str:loop_id>/"
urlpatterns += [
    path("feedback/loops/", loop_views.loop_list, name="feedback-loops"),
    path(_loop, loop_views.loop_detail, name="feedback-loop"),
    path(_loop + "contact/", loop_views.loop_contact, name="feedback-loop-contact"),
    path(_loop + "close/", loop_views.loop_close, name="feedback-loop-close"),
    path("feedback/loop-rules/", loop_views.rule_list, name="feedback-loop-rules"),
    path("feedback/loop-rules/<str:rule_id>/", loop_views.rule_detail, name="feedback-loop-rule"),
    path("feedback/loop-rules/<str:rule_id>/<slug:action>/", loop_views.rule_action, name="feedback-loop-rule-action"),
]

# surveys: the list, the survey page (settings, questions, translations, triggers, sending), the customer page's form
_survey = "feedback/surveys/<str:key>/"
urlpatterns += [
    path("feedback/surveys/", survey_views.survey_list, name="feedback-surveys"),
    path("feedback/surveys/new/", survey_views.survey_new, name="feedback-survey-new"),
    path(_survey, survey_views.survey_detail, name="feedback-survey"),
    path(_survey + "settings/", survey_views.survey_settings, name="feedback-survey-settings"),
    path(_survey + "questions/", survey_views.survey_definition, name="feedback-survey-definition"),
    path(_survey + "translations/", survey_views.survey_translation, name="feedback-survey-translation"),
    path(_survey + "status/", survey_views.survey_status, name="feedback-survey-status"),
    path(_survey + "triggers/", survey_views.survey_trigger_add, name="feedback-survey-trigger-add"),
    path(_survey + "triggers/<str:trigger_id>/", survey_views.survey_trigger, name="feedback-survey-trigger"),
    path(_survey + "send/", survey_views.survey_send, name="feedback-survey-send"),
    path(_survey + "widget/", survey_widget_views.survey_widget, name="feedback-survey-widget"),
    path(_customer + "surveys/send/", survey_views.survey_send_to_customer, name="feedback-survey-send-customer"),
]

# journeys: the list, the journey page (diagram, figures, versions, enrolments), the editor, examples, the dry run,
# one enrolment's history, and the customer page's "Enrol in…"
_journey = "journeys/<slug:key>/"
urlpatterns += [
    path("journeys/", journey_views.journey_list, name="journeys"),
    path("journeys/new/", journey_editor_views.journey_new, name="journey-new"),
    path(
        "journeys/examples/<slug:name>/install/", journey_editor_views.example_install, name="journey-example-install"
    ),
    path(_journey, journey_views.journey_detail, name="journey"),
    path(_journey + "status/", journey_views.journey_status, name="journey-status"),
    path(_journey + "edit/", journey_editor_views.journey_edit, name="journey-edit"),
    path(_journey + "duplicate/", journey_views.journey_duplicate, name="journey-duplicate"),
    path(_journey + "dry-run/", journey_editor_views.dry_run, name="journey-dry-run"),
    path(_journey + "enrol/", journey_views.journey_enrol, name="journey-enrol"),
    path(_journey + "enrolments/<str:enrolment_id>/", journey_views.enrolment_detail, name="journey-enrolment"),
    path(
        _journey + "enrolments/<str:enrolment_id>/remove/",
        journey_views.enrolment_remove,
        name="journey-enrolment-remove",
    ),
    path(_customer + "journeys/enrol/", journey_views.customer_enrol, name="journey-enrol-customer"),
]

# automation rules: the ordered list, the editor, the run log and one run
urlpatterns += [
    path("automation/", automation_views.rule_list, name="automation-rules"),
    path("automation/new/", automation_views.rule_new, name="automation-rule-new"),
    path("automation/runs/", automation_views.run_list, name="automation-runs"),
    path("automation/runs/<str:run_id>/", automation_views.run_detail, name="automation-run"),
    path("automation/runs/<str:run_id>/retry/", automation_views.run_retry, name="automation-run-retry"),
    path("automation/<str:rule_id>/", automation_views.rule_detail, name="automation-rule"),
    path("automation/<str:rule_id>/try/", automation_views.rule_try, name="automation-rule-try"),
    path("automation/<str:rule_id>/<slug:action>/", automation_views.rule_action, name="automation-rule-action"),
]
